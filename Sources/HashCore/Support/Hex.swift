/// A hex string that could not be read, with what was wrong with it.
public enum HexError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongLength(text: String, expected: [Int])
    case invalidCharacter(text: String, offset: Int)

    public var description: String {
        switch self {
        case .wrongLength(let text, let expected):
            let lengths = expected.map(String.init).joined(separator: " or ")
            return "'\(Hex.abbreviated(text))' has \(text.utf8.count) hex digits; expected \(lengths)"
        case .invalidCharacter(let text, let offset):
            return "'\(Hex.abbreviated(text))' has a non-hex character at offset \(offset)"
        }
    }
}

/// Hexadecimal text for digests and hashes: lower case out, either case in.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ value: Bytes32, byteCount: Int) -> String {
        precondition(byteCount >= 0 && byteCount <= 32, "byteCount out of range")
        return String(unsafeUninitializedCapacity: byteCount * 2) { buffer in
            for index in 0..<byteCount {
                let byte = value[index]
                buffer[2 * index] = digits[Int(byte >> 4)]
                buffer[2 * index + 1] = digits[Int(byte & 0x0f)]
            }
            return byteCount * 2
        }
    }

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0x0f)]))
        }
        return text
    }

    /// Parses exactly `byteCount` bytes of hex (2 × byteCount digits, no prefix, no spaces).
    public static func decode<S: StringProtocol>(_ text: S, byteCount: Int) throws(HexError) -> Bytes32 {
        precondition(byteCount >= 0 && byteCount <= 32, "byteCount out of range")
        let utf8 = text.utf8
        guard utf8.count == byteCount * 2 else {
            throw .wrongLength(text: String(text), expected: [byteCount * 2])
        }
        var value = Bytes32.zero
        var offset = 0
        for character in utf8 {
            guard let nibble = nibble(character) else {
                throw .invalidCharacter(text: String(text), offset: offset)
            }
            value.setNibble(nibble, at: offset)
            offset += 1
        }
        return value
    }

    @inline(__always)
    static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Long or binary-looking input is cut in error messages.
    static func abbreviated(_ text: String) -> String {
        let printable = String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" })
        return printable.count > 80 ? String(printable.prefix(77)) + "..." : printable
    }
}
