/// Up to 32 bytes held inline as four big-endian words, so that comparing values compares
/// their bytes in order (what sorted on-disk indexes need) and copying never allocates.
public struct Bytes32: Hashable, Comparable, Sendable, BitwiseCopyable {
    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64

    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The first `min(bytes.count, 32)` bytes, the rest zero.
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (index, byte) in bytes.prefix(32).enumerated() {
            let shift = UInt64(56 - 8 * (index % 8))
            switch index / 8 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            case 2: words.2 |= UInt64(byte) << shift
            default: words.3 |= UInt64(byte) << shift
            }
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Reads 32 bytes in order from `pointer`; no alignment needed.
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        w0 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// Writes all 32 bytes in order to `pointer`.
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: w0.bigEndian, toByteOffset: 0, as: UInt64.self)
        pointer.storeBytes(of: w1.bigEndian, toByteOffset: 8, as: UInt64.self)
        pointer.storeBytes(of: w2.bigEndian, toByteOffset: 16, as: UInt64.self)
        pointer.storeBytes(of: w3.bigEndian, toByteOffset: 24, as: UInt64.self)
    }

    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < 32, "byte index out of range")
        let word: UInt64
        switch index / 8 {
        case 0: word = w0
        case 1: word = w1
        case 2: word = w2
        default: word = w3
        }
        return UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (index % 8)))
    }

    /// Sets nibble `index` (0 is the high half of byte 0) of a value whose nibble is zero.
    @inline(__always)
    mutating func setNibble(_ nibble: UInt8, at index: Int) {
        let shift = UInt64(60 - 4 * (index % 16))
        let bits = UInt64(nibble) << shift
        switch index / 16 {
        case 0: w0 |= bits
        case 1: w1 |= bits
        case 2: w2 |= bits
        default: w3 |= bits
        }
    }

    public func bytes(count: Int = 32) -> [UInt8] {
        (0..<count).map { self[$0] }
    }

    public static func < (lhs: Bytes32, rhs: Bytes32) -> Bool {
        if lhs.w0 != rhs.w0 { return lhs.w0 < rhs.w0 }
        if lhs.w1 != rhs.w1 { return lhs.w1 < rhs.w1 }
        if lhs.w2 != rhs.w2 { return lhs.w2 < rhs.w2 }
        return lhs.w3 < rhs.w3
    }
}
