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
        if !image.pdq.dihedral.isEmpty {
            json.key("dihedral")
            json.beginObject()
            for transform in DihedralTransform.allCases {
                json.member(transform.name, image.pdq.dihedral[transform.rawValue].hex)
            }
            json.endObject()
        }
    }

    public static func writeJSONError(_ message: String, code: String, into json: inout JSONWriter) {
        json.member("error", message)
        json.member("error_code", code)
    }

    /// TSV columns, in order; the dihedral ones only when asked for.
    public static func tsvHeader(dihedral: Bool) -> [String] {
        ["path", "sha256", "sha1", "md5", "pdq", "quality", "width", "height", "format"]
            + (dihedral ? DihedralTransform.allCases.dropFirst().map(\.name) : []) + ["error"]
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
        return fields
    }

}
