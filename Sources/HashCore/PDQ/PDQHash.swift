/// A 256-bit PDQ hash. Bit k (k = 16·i + j for DCT coefficient (i, j)) is bit k of the
/// 256-bit number whose hex form Meta's reference prints: the first hex digit holds bits
/// 255...252. Stored as that number's 32 bytes, most significant first.
public struct PDQHash: Hashable, Sendable, CustomStringConvertible {
    public var bits: Bytes32

    public static let bitCount = 256
    public static let zero = PDQHash(bits: .zero)

    public init(bits: Bytes32) {
        self.bits = bits
    }

    /// 64 hex digits, either case.
    public init<S: StringProtocol>(hex: S) throws(HexError) {
        bits = try Hex.decode(hex, byteCount: 32)
    }

    public var hex: String { Hex.encode(bits, byteCount: 32) }
    public var description: String { hex }

    /// Hamming distance: the number of bits that differ.
    @inlinable
    public func distance(to other: PDQHash) -> Int {
        (bits.w0 ^ other.bits.w0).nonzeroBitCount + (bits.w1 ^ other.bits.w1).nonzeroBitCount
            + (bits.w2 ^ other.bits.w2).nonzeroBitCount + (bits.w3 ^ other.bits.w3).nonzeroBitCount
    }

    public func bit(_ index: Int) -> Bool {
        precondition(index >= 0 && index < 256, "bit index out of range")
        let word: UInt64
        switch index >> 6 {
        case 0: word = bits.w3
        case 1: word = bits.w2
        case 2: word = bits.w1
        default: word = bits.w0
        }
        return (word >> UInt64(index & 63)) & 1 == 1
    }

    public mutating func setBit(_ index: Int) {
        precondition(index >= 0 && index < 256, "bit index out of range")
        let mask = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: bits.w3 |= mask
        case 1: bits.w2 |= mask
        case 2: bits.w1 |= mask
        default: bits.w0 |= mask
        }
    }
}

/// The eight rotations and flips of an image, in the order Meta's reference lists them.
/// PDQ derives the hash of each from the original's DCT without touching pixels.
public enum DihedralTransform: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case original
    case rotate90
    case rotate180
    case rotate270
    case flipX
    case flipY
    case flipPlus1
    case flipMinus1

    /// The names used in JSON and TSV output (and by the reference's tools).
    public var name: String {
        switch self {
        case .original: "orig"
        case .rotate90: "rot90"
        case .rotate180: "rot180"
        case .rotate270: "rot270"
        case .flipX: "flipx"
        case .flipY: "flipy"
        case .flipPlus1: "flipplus1"
        case .flipMinus1: "flipminus1"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var description: String { name }
}
