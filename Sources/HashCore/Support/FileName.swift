import SystemPackage

/// File names on Linux are bytes; hashdb carries paths as Strings. A name that is not valid
/// UTF-8 (common in what a hotline downloads) must still open, and two such names must stay
/// two: each byte of an invalid sequence becomes the private-use scalar U+10FF00 + byte
/// (U+10FF80...U+10FFFF), and `filePath` turns those back into the bytes. No real name uses
/// that range of plane 16; one that did would be read as the bytes it stands for.
public enum FileName {
    private static let escapeBase: UInt32 = 0x10_FF00

    /// The name's bytes as a String, invalid UTF-8 kept as escaped bytes.
    public static func string<C: Collection>(fromBytes bytes: C) -> String where C.Element == UInt8 {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        let bytes = Array(bytes)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(bytes[index])
            if length > 0, index + length <= bytes.count,
                let scalar = String(validating: bytes[index..<(index + length)], as: UTF8.self)?.unicodeScalars,
                scalar.count == 1
            {
                result.append(scalar.first!)
                index += length
            } else {
                result.append(Unicode.Scalar(escapeBase + UInt32(bytes[index]))!)
                index += 1
            }
        }
        return String(result)
    }

    /// The path to hand the system: escaped bytes turned back into themselves.
    public static func filePath(_ path: String) -> FilePath {
        guard path.unicodeScalars.contains(where: isEscapedByte) else { return FilePath(path) }
        return withPlatformBytes(path) { FilePath(platformString: $0) }
    }

    /// Calls `body` with the path as the NUL-terminated bytes the system takes.
    public static func withPlatformString<T>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        guard path.unicodeScalars.contains(where: isEscapedByte) else { return try path.withCString(body) }
        return try withPlatformBytes(path, body)
    }

    private static func withPlatformBytes<T>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        var bytes: [CChar] = []
        bytes.reserveCapacity(path.utf8.count + 1)
        for scalar in path.unicodeScalars {
            if isEscapedByte(scalar) {
                bytes.append(CChar(bitPattern: UInt8(scalar.value - escapeBase)))
            } else {
                bytes.append(contentsOf: String(scalar).utf8.map { CChar(bitPattern: $0) })
            }
        }
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    private static func isEscapedByte(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF
    }

    /// The length a UTF-8 sequence starting with `lead` claims (0 for a byte that cannot lead).
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }
}
