import Foundation

/// vPDQ hash files: one video a file, as the tools that make them write it.
///
/// - vpdq's own files (`vpdq-hash-video`, Meta's sample hashes): `frame,quality,hash,timestamp` a line.
/// - vpdq's Python command line and python-threatexchange: `hash,quality,timestamp` a line,
///   or python-threatexchange's signal text, a JSON list of such strings. They carry no frame
///   numbers: frames are numbered by their position (0, 1, 2, …).
///
/// The file becomes one row: a video named by the file's name without its extension. A line
/// that does not parse rejects the whole video (a video with a frame missing would match wrongly).
extension Importers {
    /// One line of a vPDQ file.
    struct VPDQLine: Equatable {
        var frame: Int?
        var quality: Int
        var hash: PDQHash
        var timestamp: Double

        init?(_ line: Substring) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingASCIIWhitespace() }
            let hashField: Substring
            let qualityField: Substring
            let timeField: Substring
            switch fields.count {
            case 4:
                guard let frame = Int(fields[0]), frame >= 0 else { return nil }
                self.frame = frame
                (qualityField, hashField, timeField) = (fields[1], fields[2], fields[3])
            case 3:
                frame = nil
                (hashField, qualityField, timeField) = (fields[0], fields[1], fields[2])
            default:
                return nil
            }
            guard hashField.utf8.count == 64, let hash = try? FieldParser.pdq(hashField),
                let quality = Int(qualityField), (0...100).contains(quality),
                let timestamp = Double(timeField), timestamp.isFinite, timestamp >= 0
            else { return nil }
            self.quality = quality
            self.hash = hash
            self.timestamp = timestamp
        }
    }

    /// Whether a file's first lines are vPDQ lines (format detection), or it is a JSON list of them.
    static func isVPDQFile(firstLine: Substring, sample: [Substring]) -> Bool {
        if firstLine.hasPrefix("[") {
            // python-threatexchange's JSON list: its first string must itself be a vPDQ line.
            let rest = firstLine.dropFirst().trimmingASCIIWhitespace()
            guard rest.hasPrefix("\""), let end = rest.dropFirst().firstIndex(of: "\"") else { return false }
            return VPDQLine(rest[rest.index(after: rest.startIndex)..<end]) != nil
        }
        return VPDQLine(firstLine) != nil && sample.allSatisfy { VPDQLine($0.trimmingASCIIWhitespace()) != nil }
    }

    static let maximumVPDQFileBytes = 64 << 20

    static func readVPDQ(path: String, defaults: RowDefaults, digest: SHA256Stream? = nil, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines, digest: digest)
        var lines: [(line: Int, text: Substring)] = []
        var bytes = 0
        var firstLine: Int?
        while let record = try reader.next(reportingOversized: body) {
            guard let text = record.validatedString(0) else {
                try body(.failure(RowError(file: path, line: reader.line, reason: "not valid UTF-8: the video is left out")))
                return
            }
            let line = Substring(text).trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            bytes += line.utf8.count
            guard bytes <= maximumVPDQFileBytes else {
                throw InputError(file: path, reason: "a vPDQ file of more than \(maximumVPDQFileBytes >> 20) MiB")
            }
            if firstLine == nil { firstLine = reader.line }
            lines.append((reader.line, line))
        }
        guard let firstLine else { return }
        var texts = lines
        if lines[0].text.hasPrefix("[") {
            // python-threatexchange's signal: a JSON list of "hash,quality,timestamp" strings.
            let json = lines.map(\.text).joined(separator: "\n")
            guard let list = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [Any], let strings = list as? [String] else {
                try body(.failure(RowError(file: path, line: firstLine, reason: "not a JSON list of \"hash,quality,timestamp\" strings")))
                return
            }
            texts = strings.map { (firstLine, Substring($0)) }
        }
        var frames: [VPDQFrame] = []
        let numbered = texts.first.flatMap { VPDQLine($0.text) }?.frame != nil
        for (position, (line, text)) in texts.enumerated() {
            guard let parsed = VPDQLine(text) else {
                try body(.failure(RowError(file: path, line: line,
                                           reason: "not a vPDQ line (frame,quality,hash,timestamp or hash,quality,timestamp): the video is left out")))
                return
            }
            guard (parsed.frame != nil) == numbered else {
                try body(.failure(RowError(file: path, line: line, reason: "lines with and without frame numbers mixed: the video is left out")))
                return
            }
            frames.append(VPDQFrame(frame: parsed.frame ?? position, quality: parsed.quality, hash: parsed.hash, timestamp: parsed.timestamp))
        }
        var row = ListRow()
        row.id = Self.videoName(path: path)
        row.video = StoredVideo(frames: frames)
        try ListReader.finish(&row, line: firstLine, path: path, defaults: defaults, body)
    }

    /// A video's name from its hash file's: the last path component without its extension.
    static func videoName(path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot > name.startIndex else { return name }
        return String(name[..<dot])
    }
}

/// Meta's `.tmk` files: one video's TMK+PDQF each (`TMKFile`), named by the file.
extension Importers {
    /// Reads a `.tmk` file as one row; its bytes (for the manifest's digest).
    static func readTMK(path: String, defaults: RowDefaults, _ body: (Result<ListRow, RowError>) throws -> Void) throws -> [UInt8] {
        let bytes = try tmkBytes(path: path)
        var row = ListRow()
        row.id = videoName(path: path)
        do {
            row.tmk = try TMKFile.features(from: bytes)
        } catch {
            try body(.failure(RowError(file: path, line: nil, reason: error.description)))
            return bytes
        }
        try ListReader.finish(&row, line: 1, path: path, defaults: defaults, body)
        return bytes
    }

    /// A file's bytes, refused unread when it is larger than a `.tmk` can be.
    static func tmkBytes(path: String) throws(InputError) -> [UInt8] {
        do {
            guard let bytes = try Fingerprinter.contents(ofPath: path, limit: TMKFile.byteCount) else {
                throw InputError(file: path, reason: "larger than a .tmk file (\(TMKFile.byteCount) bytes)")
            }
            return bytes
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(file: path, reason: "\(error)")
        }
    }

    /// A list's `tmk` field: `{"features": BASE64, "file": PATH}` as `hashdb hash --tmk` writes it
    /// (the features when given, else the file; a relative path is taken from the list's
    /// folder), or the `.tmk` bytes in base64 (as an export writes them);
    /// nil for `hashdb hash`'s record of a TMK that could not be computed (the row keeps its
    /// digests and frames).
    static func tmk(field: Any, listPath: String) throws(RowFieldError) -> TMKFeatures? {
        let bytes: [UInt8]
        if let object = field as? [String: Any], let text = object["features"] as? String {
            return try tmk(field: text, listPath: listPath)
        }
        if let text = field as? String {
            guard text.utf8.count <= TMKFile.byteCount * 4 / 3 + 4, let data = Data(base64Encoded: text) else {
                throw RowFieldError("tmk: not the base64 of a .tmk file")
            }
            bytes = [UInt8](data)
        } else if let object = field as? [String: Any], let file = object["file"] as? String {
            let path = file.hasPrefix("/") ? file : ((listPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(file)
            let resolved = FileManager.default.fileExists(atPath: path) ? path : file
            do {
                bytes = try tmkBytes(path: resolved)
            } catch {
                throw RowFieldError("tmk: \(error.reason)")
            }
        } else if let object = field as? [String: Any], object["error"] != nil {
            return nil
        } else {
            throw RowFieldError("tmk: not {\"file\": PATH} or the base64 of a .tmk file")
        }
        do {
            return try TMKFile.features(from: bytes)
        } catch {
            throw RowFieldError("tmk: \(error.description)")
        }
    }
}
