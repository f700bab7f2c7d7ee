/// The image formats HashCore decodes, recognised from their first bytes, never from a
/// file name.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case jpeg
    case png
    case webp

    /// The decodable format whose signature `bytes` start with, if any.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            return .jpeg
        }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return .png
        }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)),
            bytes[8] == UInt8(ascii: "W"), bytes[9] == UInt8(ascii: "E"),
            bytes[10] == UInt8(ascii: "B"), bytes[11] == UInt8(ascii: "P")
        {
            return .webp
        }
        return nil
    }

    /// A name for what an undecodable file looks like, for error messages.
    static func describeUnsupported(_ bytes: UnsafeRawBufferPointer) -> String {
        let known: [(String, [UInt8], Int)] = [
            ("GIF", Array("GIF8".utf8), 0),
            ("BMP", Array("BM".utf8), 0),
            ("TIFF", [0x49, 0x49, 0x2A, 0x00], 0),
            ("TIFF", [0x4D, 0x4D, 0x00, 0x2A], 0),
            ("HEIF/AVIF", Array("ftyp".utf8), 4),
            ("PDF", Array("%PDF".utf8), 0),
            ("ZIP", [0x50, 0x4B, 0x03, 0x04], 0),
            ("gzip", [0x1F, 0x8B], 0),
            ("JPEG 2000", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20], 0),
        ]
        for (name, signature, offset) in known where bytes.count >= offset + signature.count {
            if bytes[offset..<offset + signature.count].elementsEqual(signature) {
                return name
            }
        }
        let head = bytes.prefix(8)
        return "unknown format (first bytes \(Hex.encode(head)))"
    }
}
