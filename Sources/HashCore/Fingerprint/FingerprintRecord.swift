/// The fields of a fingerprint in the documented record formats (JSON Lines and TSV) that
/// `hashdb hash`, `hashdb query` and the HTTP service share.
public enum FingerprintRecord {
    /// Adds sha256, sha1, md5, pdq, quality, width, height, format (and dihedral, when
    /// computed) to an open JSON object; on a decode failure, the digests then error and
    /// error_code.
    public static func writeJSONFields(of fingerprint: Fingerprint, into json: inout JSONWriter) {
        json.member("sha256", fingerprint.digests.sha256.hex)
        json.member("sha1", fingerprint.digests.sha1.hex)
        json.member("md5", fingerprint.digests.md5.hex)
        if let video = fingerprint.video {
            json.member("media", "video")
            switch video {
            case .success(let video): writeJSONFields(of: video, into: &json)
            case .failure(let error): writeJSONError(error.description, code: error.code, into: &json)
            }
            return
        }
        switch fingerprint.image {
        case .success(let image):
            writeJSONFields(of: image, into: &json)
        case .failure(let error):
            writeJSONError(error.description, code: error.code, into: &json)
        }
    }

    public static func writeJSONFields(of image: ImageFingerprint, into json: inout JSONWriter) {
        json.member("pdq", image.pdq.hash.hex)
        json.member("quality", image.pdq.quality)
        json.member("width", image.width)
        json.member("height", image.height)
        json.member("format", image.format.rawValue)
        if !image.pdq.dihedral.isEmpty { writeDihedral(image.pdq.dihedral, into: &json) }
    }

    /// A video's container, stream and vPDQ frames (`frames`: frame, quality, pdq, timestamp,
    /// the timestamp in seconds to 3 places as vpdq prints it).
    public static func writeJSONFields(of video: VideoFingerprint, into json: inout JSONWriter) {
        json.member("format", video.format.rawValue)
        json.member("width", video.width)
        json.member("height", video.height)
        json.key("frame_rate")
        json.double(video.frameRate)
        if let duration = video.durationSeconds {
            json.key("duration")
            json.double(duration)
        }
        json.member("frames_decoded", video.decodedFrames)
        writeFrames(video.frames, exactTimestamps: false, into: &json)
    }

    /// `frames`: frame, quality, pdq and timestamp each (and a frame's rotations and flips when
    /// hashed with them). Timestamps to 3 places as vpdq prints them, or `exactTimestamps` as
    /// the double they are (an export, which must build the same database again).
    static func writeFrames(_ frames: [VPDQFrame], exactTimestamps: Bool, into json: inout JSONWriter) {
        json.key("frames")
        json.beginArray()
        for frame in frames {
            json.beginObject()
            json.member("frame", frame.frame)
            json.member("quality", frame.quality)
            json.member("pdq", frame.hash.hex)
            if exactTimestamps {
                json.key("timestamp")
                json.double(frame.timestamp)
            } else {
                json.member("timestamp", decimal: VPDQ.timestampText(frame.timestamp))
            }
            if !frame.dihedral.isEmpty { writeDihedral(frame.dihedral, into: &json) }
            json.endObject()
        }
        json.endArray()
    }

    /// `dihedral`: the 8 variants by transform name.
    static func writeDihedral(_ hashes: [PDQHash], into json: inout JSONWriter) {
        json.key("dihedral")
        json.beginObject()
        for transform in DihedralTransform.allCases {
            json.member(transform.name, hashes[transform.rawValue].hex)
        }
        json.endObject()
    }

    public static func writeJSONError(_ message: String, code: String, into json: inout JSONWriter) {
        json.member("error", message)
        json.member("error_code", code)
    }

    /// TSV columns, in order; the dihedral ones only when asked for.
    public static func tsvHeader(dihedral: Bool) -> [String] {
        ["path", "sha256", "sha1", "md5", "pdq", "quality", "width", "height", "format"]
            + (dihedral ? DihedralTransform.allCases.dropFirst().map(\.name) : []) + ["error", "frame", "timestamp"]
    }

    /// A video's TSV rows: one a hashed frame (its pdq, quality, frame and timestamp), or one
    /// row with the error when it could not be hashed.
    public static func tsvRows(path: String, fingerprint: Fingerprint, video: Result<VideoFingerprint, VideoDecodeError>,
                               dihedral: Bool) -> [[String]] {
        let digests = fingerprint.digests.all.map(\.hex)
        let blanks = dihedral ? Array(repeating: "", count: 7) : []
        switch video {
        case .failure(let error):
            return [[TextEscaping.tsvField(path)] + digests + ["", "", "", "", "video"] + blanks + [TextEscaping.tsvField(error.description), "", ""]]
        case .success(let video):
            return video.frames.map { frame in
                [TextEscaping.tsvField(path)] + digests
                    + [frame.hash.hex, String(frame.quality), String(video.width), String(video.height), video.format.rawValue]
                    + blanks + ["", String(frame.frame), VPDQ.timestampText(frame.timestamp)]
            }
        }
    }

    /// One TSV row for `path`: empty fields where a value is unknown.
    public static func tsvRow(path: String, fingerprint: Fingerprint?, error: String?, dihedral: Bool) -> [String] {
        var fields = [TextEscaping.tsvField(path)]
        if let fingerprint {
            fields += fingerprint.digests.all.map(\.hex)
        } else {
            fields += ["", "", ""]
        }
        let image = fingerprint?.imageFingerprint
        fields += [
            image?.pdq.hash.hex ?? "",
            image.map { String($0.pdq.quality) } ?? "",
            image.map { String($0.width) } ?? "",
            image.map { String($0.height) } ?? "",
            image?.format.rawValue ?? "",
        ]
        if dihedral {
            for transform in DihedralTransform.allCases.dropFirst() {
                fields.append(image.map { $0.pdq.dihedral.isEmpty ? "" : $0.pdq.dihedral[transform.rawValue].hex } ?? "")
            }
        }
        fields.append(TextEscaping.tsvField(error ?? ""))
        fields += ["", ""]  // frame, timestamp: a video's
        return fields
    }

}
