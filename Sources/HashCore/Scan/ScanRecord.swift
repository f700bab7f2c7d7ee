/// What a scan knows about one file: where it is and which version of it was hashed (size and
/// modification time), its digests, and its PDQ hash when it decodes, or why it could not be read.
public struct ScanRecord: Sendable, Equatable {
    public var path: String
    public var size: Int
    /// Modification time in nanoseconds since 1970.
    public var modified: Int64
    public var digests: FileDigests?
    public var pdq: PDQHash?
    public var quality: Int?
    public var width: Int?
    public var height: Int?
    /// The 8 dihedral hashes (by `DihedralTransform.rawValue`) when the scan asked for them.
    public var dihedral: [PDQHash] = []
    public var errorCode: String?
    public var errorMessage: String?
    /// A video's vPDQ frames (and its size in `width`, `height`).
    public var video: StoredVideo?
    /// A video's container.
    public var videoFormat: VideoFormat?
    /// A video's TMK+PDQF, when the scan computes them (not kept in the state file: 263 KB a
    /// video; a scan with TMK hashes reused videos again).
    public var tmk: TMKFeatures?

    public init(path: String, size: Int, modified: Int64) {
        self.path = path
        self.size = size
        self.modified = modified
    }

    /// The record of a fingerprinted file (or of one that could not be read at all).
    init(path: String, size: Int, modified: Int64, outcome: Result<Fingerprint, FileReadError>) {
        self.init(path: path, size: size, modified: modified)
        switch outcome {
        case .success(let fingerprint):
            digests = fingerprint.digests
            if let outcome = fingerprint.video {
                switch outcome {
                case .success(let hashed):
                    video = StoredVideo(hashed)
                    tmk = try? fingerprint.tmk?.get()
                    videoFormat = hashed.format
                    width = hashed.width
                    height = hashed.height
                case .failure(let error):
                    errorCode = error.code
                    errorMessage = error.description
                }
                return
            }
            switch fingerprint.image {
            case .success(let image):
                pdq = image.pdq.hash
                quality = image.pdq.quality
                width = image.width
                height = image.height
                dihedral = image.pdq.dihedral
            case .failure(let error):
                errorCode = error.code
                errorMessage = error.description
            }
        case .failure(let error):
            errorCode = error.code
            errorMessage = error.description
        }
    }

    /// Pixels the file declares (0 when it did not decode): representatives are the largest.
    public var pixels: Int { (width ?? 0) * (height ?? 0) }

    public var queryHashes: QueryHashes {
        QueryHashes(digests: digests?.all ?? [], pdq: pdq, quality: quality, dihedral: dihedral, video: video, tmk: tmk)
    }
}

/// The scan state file: a header line, then one tab-separated line per file hashed, appended
/// as the scan goes, so that an interrupted scan resumes where it stopped and a re-scan of a
/// grown folder hashes only what is new or changed. A line cut short by a kill is ignored.
///
/// Fields: path, size, modified (ns), sha256, sha1, md5, pdq, quality, width, height, the 8
/// dihedral hashes joined by commas, error code, error message (path and message escaped as
/// in hashdb's TSV output), and (state 2) a video's container and frames:
/// `FORMAT;FRAME:QUALITY:PDQ:TIMESTAMP,…`. State 1 files (13 fields) are read too.
enum ScanStateCodec {
    static let header = "# hashdb scan state 2"
    static let earlierHeaders = ["# hashdb scan state 1"]
    static let fieldCount = 14

    static func line(_ record: ScanRecord) -> String {
        func text(_ value: Int?) -> String { value.map(String.init) ?? "" }
        let digests = record.digests
        var fields: [String] = [TextEscaping.tsvField(record.path), String(record.size), String(record.modified)]
        fields.append(digests?.sha256.hex ?? "")
        fields.append(digests?.sha1.hex ?? "")
        fields.append(digests?.md5.hex ?? "")
        fields.append(record.pdq?.hex ?? "")
        fields.append(text(record.quality))
        fields.append(text(record.width))
        fields.append(text(record.height))
        fields.append(record.dihedral.map(\.hex).joined(separator: ","))
        fields.append(record.errorCode ?? "")
        fields.append(TextEscaping.tsvField(record.errorMessage ?? ""))
        if let video = record.video, let format = record.videoFormat {
            fields.append(format.rawValue + ";" + video.frames.map { "\($0.frame):\($0.quality):\($0.hash.hex):\($0.timestamp)" }.joined(separator: ","))
        } else {
            fields.append("")
        }
        return fields.joined(separator: "\t")
    }

    /// A video field (`line` writes it), or nil when it is not one.
    static func video(_ field: Substring) -> (VideoFormat, StoredVideo)? {
        let parts = field.split(separator: ";", maxSplits: 1)
        guard parts.count == 2, let format = VideoFormat(rawValue: String(parts[0])) else { return nil }
        var frames: [VPDQFrame] = []
        for item in parts[1].split(separator: ",") {
            let values = item.split(separator: ":")
            guard values.count == 4, let frame = Int(values[0]), let quality = Int(values[1]), let hash = try? PDQHash(hex: values[2]),
                let timestamp = Double(values[3])
            else { return nil }
            frames.append(VPDQFrame(frame: frame, quality: quality, hash: hash, timestamp: timestamp))
        }
        let video = StoredVideo(frames: frames)
        return video.problem == nil ? (format, video) : nil
    }

    /// The record of a state line, or nil for a line that is not one (a torn last line).
    static func record(_ line: Substring) -> ScanRecord? {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == fieldCount || fields.count == fieldCount - 1, let size = Int(fields[1]), let modified = Int64(fields[2]) else {
            return nil
        }
        var record = ScanRecord(path: TextEscaping.tsvUnescape(fields[0]), size: size, modified: modified)
        if !fields[3].isEmpty {
            guard let sha256 = try? Digest(kind: .sha256, hex: fields[3]), let sha1 = try? Digest(kind: .sha1, hex: fields[4]),
                let md5 = try? Digest(kind: .md5, hex: fields[5])
            else { return nil }
            record.digests = FileDigests(sha256: sha256, sha1: sha1, md5: md5)
        }
        if !fields[6].isEmpty {
            guard let pdq = try? PDQHash(hex: fields[6]), let quality = Int(fields[7]) else { return nil }
            record.pdq = pdq
            record.quality = quality
        }
        record.width = Int(fields[8])
        record.height = Int(fields[9])
        if !fields[10].isEmpty {
            let hashes = fields[10].split(separator: ",").compactMap { try? PDQHash(hex: $0) }
            guard hashes.count == DihedralTransform.allCases.count else { return nil }
            record.dihedral = hashes
        }
        record.errorCode = fields[11].isEmpty ? nil : String(fields[11])
        record.errorMessage = fields[12].isEmpty ? nil : TextEscaping.tsvUnescape(fields[12])
        if fields.count > 13, !fields[13].isEmpty {
            guard let (format, video) = video(fields[13]) else { return nil }
            record.videoFormat = format
            record.video = video
        }
        return record
    }

}
