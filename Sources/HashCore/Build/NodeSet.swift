/// One bit per node (or row).
struct NodeSet {
    private(set) var words: [UInt64]

    init(count: Int) {
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always) func contains(_ node: Int) -> Bool { words[node >> 6] & (1 << UInt64(node & 63)) != 0 }
    @inline(__always) mutating func insert(_ node: Int) { words[node >> 6] |= 1 << UInt64(node & 63) }
}
