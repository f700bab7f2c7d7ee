/// Which of k sorted sources holds the smallest current key: a binary heap of source indexes,
/// ordered by (key, index), so that equal keys come out in the order of the sources. The one
/// k-way merge of the project: the external sort merges its runs with it, a merge its inputs'
/// digest indexes and PDQ tables.
struct MergeOrder<Key: Comparable> {
    private var heap: [Int] = []
    /// The current key of each source in the heap.
    private var heads: [Key?]

    /// `heads[i]`: the first key of source i, nil when it has none.
    init(heads: [Key?]) {
        self.heads = heads
        heap = heads.indices.filter { heads[$0] != nil }
        for start in stride(from: heap.count / 2 - 1, through: 0, by: -1) {
            siftDown(start)
        }
    }

    /// The source with the smallest current key (the earliest of equals), nil when all are done.
    @inline(__always) var first: Int? { heap.first }

    /// The smallest current key.
    @inline(__always) var firstKey: Key? { heap.first.flatMap { heads[$0] } }

    /// Moves the first source on to its next key, or takes it out when it has none.
    @inline(__always)
    mutating func advanceFirst(to next: Key?) {
        guard let top = heap.first else { return }
        heads[top] = next
        if next == nil {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
        }
        siftDown(0)
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let ka = heads[a]!, kb = heads[b]!
        return ka < kb || (!(kb < ka) && a < b)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var child = left
            if left + 1 < heap.count && less(heap[left + 1], heap[left]) { child = left + 1 }
            guard less(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            parent = child
        }
    }
}

/// A sorted sequence of keys, each held by an entry: a digest index, a PDQ table.
protocol SortedKeySource {
    var count: Int { get }
    func key(_ position: Int) -> Bytes32
    func entry(_ position: Int) -> Int
}

extension DigestIndex: SortedKeySource {}

extension PDQTable: SortedKeySource {
    @inline(__always) func key(_ position: Int) -> Bytes32 { hash(position).bits }
}

/// Several sorted key sequences read as one, in key order (ties in the order of the sources).
struct KWayMerge<Source: SortedKeySource> {
    let sources: [Source]
    private var cursors: [Int]
    private var order: MergeOrder<Bytes32>

    init(_ sources: [Source]) {
        self.sources = sources
        cursors = [Int](repeating: 0, count: sources.count)
        order = MergeOrder(heads: sources.map { $0.count > 0 ? $0.key(0) : nil })
    }

    /// The next (source, position, key), or nil when every source is done.
    @inline(__always)
    mutating func next() -> (Int, Int, Bytes32)? {
        guard let source = order.first, let key = order.firstKey else { return nil }
        let position = cursors[source]
        cursors[source] = position + 1
        order.advanceFirst(to: position + 1 < sources[source].count ? sources[source].key(position + 1) : nil)
        return (source, position, key)
    }

    /// The entry at `position` of a source, if it has one there (for looking ahead).
    @inline(__always)
    func entry(input: Int, position: Int) -> Int? {
        position < sources[input].count ? sources[input].entry(position) : nil
    }
}
