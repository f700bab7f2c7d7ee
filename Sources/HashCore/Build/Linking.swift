import CShims
import Foundation

/// Rows united by shared keys. Roots are always the smallest row of their set, so every
/// parent pointer points to a smaller row; a root's `canonical` is the smallest key ordinal
/// seen for its set. Parent and canonical sit side by side: one cache miss reaches both.
struct UnionFind {
    private var nodes: [(parent: UInt32, canonical: UInt32)]
    /// A bit per row: its set is to be left out (a tombstone names one of its keys or ids).
    private var removed: [UInt64]

    init(count: Int, removedRows: [UInt64] = []) {
        nodes = (0..<count).map { (UInt32($0), UInt32.max) }
        removed = removedRows + Array(repeating: 0, count: max(0, (count + 63) / 64 - removedRows.count))
    }

    func isRemoved(_ row: Int) -> Bool { removed[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    /// Starts loading a row's node into the cache (keys visit rows at random: a linking loop
    /// asks for the rows it will need a few keys ahead).
    func prefetch(_ row: Int) {
        guard row >= 0 && row < nodes.count else { return }
        nodes.withUnsafeBufferPointer { hdb_prefetch($0.baseAddress! + row) }
    }

    var count: Int { nodes.count }

    mutating func markRemoved(_ root: Int) {
        removed[root >> 6] |= 1 << UInt64(root & 63)
    }

    mutating func find(_ row: Int) -> Int {
        var current = row
        while Int(nodes[current].parent) != current {
            let grandparent = nodes[Int(nodes[current].parent)].parent
            nodes[current].parent = grandparent
            current = Int(grandparent)
        }
        return current
    }

    /// Unites the sets of `a` (a root) and `b`; returns the new root.
    mutating func union(_ a: Int, _ b: Int) -> Int {
        let rootB = find(b)
        guard a != rootB else { return a }
        let (low, high) = a < rootB ? (a, rootB) : (rootB, a)
        nodes[high].parent = UInt32(low)
        nodes[low].canonical = min(nodes[low].canonical, nodes[high].canonical)
        if isRemoved(high) { markRemoved(low) }
        return low
    }

    mutating func lowerCanonical(_ root: Int, to ordinal: UInt32) {
        nodes[root].canonical = min(nodes[root].canonical, ordinal)
    }

    /// Numbers the sets 0, 1, 2, … in the order of their smallest key, and gives each row its
    /// set's number. Consumes the structure.
    consuming func entryNumbers(distinctKeys: Int) -> EntryNumbering {
        // Parents point to smaller rows, so in ascending order each row's parent already
        // points at its root.
        for row in nodes.indices {
            nodes[row].parent = nodes[Int(nodes[row].parent)].parent
        }
        var isCanonical = [UInt64](repeating: 0, count: (distinctKeys + 63) / 64)
        var removedSets = 0
        for row in nodes.indices where Int(nodes[row].parent) == row {
            // A set with no key at all (a damaged merge input's entry) is dropped like a removed one.
            if nodes[row].canonical == .max { markRemoved(row) }
            guard !isRemoved(row) else {
                removedSets += 1
                continue
            }
            let ordinal = Int(nodes[row].canonical)
            isCanonical[ordinal >> 6] |= 1 << UInt64(ordinal & 63)
        }
        var rankBefore = [UInt32](repeating: 0, count: isCanonical.count)
        var running: UInt32 = 0
        for word in isCanonical.indices {
            rankBefore[word] = running
            running += UInt32(isCanonical[word].nonzeroBitCount)
        }
        func rank(_ ordinal: Int) -> UInt32 {
            let word = isCanonical[ordinal >> 6]
            let below = word & ((1 << UInt64(ordinal & 63)) - 1)
            return rankBefore[ordinal >> 6] + UInt32(below.nonzeroBitCount)
        }
        let entries = nodes.map { isRemoved(Int($0.parent)) ? EntryNumbering.removed : rank(Int(nodes[Int($0.parent)].canonical)) }
        return EntryNumbering(entries: entries, entryCount: Int(running), removedSets: removedSets,
                              canonicalOrdinals: CanonicalOrdinals(bits: isCanonical))
    }
}

/// Stage 2 of a build or a merge. Keys arrive sorted by (kind, value), each with a row (for a
/// merge, a node: an entry of an input database) that holds it. Rows sharing a key are united;
/// each distinct key is numbered (its ordinal) and written once, in order, to the key stream
/// with one of its rows; a key that a tombstone names marks its set removed.
struct KeyLinker {
    private(set) var forest: UnionFind
    private let keyStream: BufferedFileWriter
    /// Distinct keys of each kind (SHA-256, SHA-1, MD5, PDQ, video).
    private(set) var keyCounts = [Int](repeating: 0, count: LinkKey.kindCount)
    private var ordinal: UInt32 = 0
    private var previous: SortableKeyValue?
    private var groupRoot = 0
    private let removedKeys: [SortableKeyValue]
    private var nextRemoved = 0

    init(forest: UnionFind, keyStreamPath: String, tombstones: [Tombstone]) throws(FileIOError) {
        self.forest = forest
        keyStream = try BufferedFileWriter(path: keyStreamPath, writeBehind: true)
        removedKeys = Array(Set(tombstones.compactMap { tombstone -> SortableKeyValue? in
            if case .id = tombstone.value { return nil }
            return SortableKeyValue(kind: tombstone.value.kindCode, value: tombstone.value.storedValue)
        })).sorted()
    }

    mutating func link(kind: UInt8, value: Bytes32, row: Int) throws {
        let key = SortableKeyValue(kind: kind, value: value)
        while nextRemoved < removedKeys.count && removedKeys[nextRemoved] < key {
            nextRemoved += 1
        }
        if let previous, previous == key {
            groupRoot = forest.union(groupRoot, row)
        } else {
            if previous != nil {
                guard ordinal < UInt32.max - 1 else { throw DatabaseBuilder.RowRejected(reason: "more than \(UInt32.max - 1) distinct digests") }
                ordinal += 1
            }
            groupRoot = forest.find(row)
            keyCounts[Int(kind)] += 1
            try KeyStreamRecord(kind: kind, value: value, row: UInt32(row)).write(to: keyStream)
        }
        forest.lowerCanonical(groupRoot, to: ordinal)
        if nextRemoved < removedKeys.count && removedKeys[nextRemoved] == key {
            forest.markRemoved(groupRoot)
        }
        previous = key
    }

    /// Mutating only so that a linking loop borrows the linker rather than copying it.
    mutating func prefetch(row: Int) { forest.prefetch(row) }

    /// Closes the key stream; the united sets and the number of distinct keys.
    consuming func finish() throws(FileIOError) -> (UnionFind, Int) {
        try keyStream.close()
        return (forest, previous == nil ? 0 : Int(ordinal) + 1)
    }
}

/// Each row's entry number (`removed` for rows of removed sets).
struct EntryNumbering {
    static let removed = UInt32.max
    let entries: [UInt32]

    func prefetch(node: Int) {
        guard node >= 0 && node < entries.count else { return }
        entries.withUnsafeBufferPointer { hdb_prefetch($0.baseAddress! + node) }
    }

    let entryCount: Int
    let removedSets: Int
    let canonicalOrdinals: CanonicalOrdinals
}

/// The key ordinals that are some entry's smallest key, in order: entry e's is the e-th.
struct CanonicalOrdinals {
    let bits: [UInt64]
}

/// Walks the key stream alongside the entries (both in key order) to name entries that have
/// no id by their smallest key, as "<kind>:<hex>" (sha256:… when the entry has a SHA-256).
final class CanonicalKeyReader {
    private let reader: BufferedFileReader
    private let bits: [UInt64]
    private var ordinal = -1
    private var current: KeyStreamRecord?
    private var entry = -1
    private var word = 0
    private var remaining: UInt64 = 0

    init(path: String, canonical: CanonicalOrdinals) throws(FileIOError) {
        reader = try BufferedFileReader(path: path, bufferSize: 1 << 20)
        bits = canonical.bits
        remaining = bits.first ?? 0
    }

    /// Entries must be asked for in increasing order.
    func key(forEntry wanted: Int) throws -> String {
        var target = -1
        while entry < wanted {
            while remaining == 0 {
                word += 1
                guard word < bits.count else { throw BuildError.internal("entry numbering is inconsistent") }
                remaining = bits[word]
            }
            target = word * 64 + remaining.trailingZeroBitCount
            remaining &= remaining - 1
            entry += 1
        }
        while ordinal < target {
            current = try KeyStreamRecord.read(from: reader)
            ordinal += 1
        }
        guard let current else { throw BuildError.internal("the key stream ended early") }
        let width = LinkKey.valueWidth(current.kind)
        return LinkKey.kindName(current.kind) + ":" + Hex.encode(current.value, byteCount: width)
    }
}
