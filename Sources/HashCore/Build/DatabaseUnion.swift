import Foundation

/// The entries of several databases linked into the entries of one: stage 2 of a build, with
/// database entries ("nodes") in place of rows. Node `base + e` is entry e of an input.
///
/// Each input's digest indexes and PDQ table are sorted already, so a k-way merge of them gives
/// every key in order without a sort; nodes that share a digest (or, having no digest, a PDQ
/// hash) are united, as rows are in a build, and the result numbered the way a build numbers
/// entries. What a merge, a subtraction, an intersection and a diff have in common.
struct DatabaseUnion {
    struct Input {
        let database: HashDatabase
        let base: Int
    }

    let inputs: [Input]
    let nodeCount: Int
    /// Nodes left out before linking (a source filter): they link nothing and become nothing.
    let excluded: NodeSet
    /// Taken by `link`.
    private var linker: KeyLinker?

    /// Where each database's nodes start.
    static func bases(of databases: [HashDatabase]) -> [Int] {
        var bases: [Int] = []
        var base = 0
        for database in databases {
            bases.append(base)
            base += database.entryCount
        }
        return bases
    }

    init(databases: [HashDatabase], excluded: NodeSet?, tombstones: [Tombstone], keyStreamPath: String) throws {
        let bases = Self.bases(of: databases)
        inputs = zip(databases, bases).map { Input(database: $0, base: $1) }
        nodeCount = databases.reduce(0) { $0 + $1.entryCount }
        guard nodeCount <= DatabaseBuilder.maximumRows else {
            throw DatabaseBuilder.RowRejected(reason: "the inputs hold \(nodeCount) entries; one merge takes at most \(DatabaseBuilder.maximumRows)")
        }
        self.excluded = excluded ?? NodeSet(count: nodeCount)
        // Excluded nodes are removed from the start; so are nodes whose ids a tombstone names
        // (looked up in each input's id index).
        var removed = self.excluded
        for tombstone in tombstones {
            guard case .id(let id) = tombstone.value else { continue }
            for input in inputs {
                for entry in input.database.entries(withID: id) {
                    removed.insert(input.base + entry)
                }
            }
        }
        linker = try KeyLinker(forest: UnionFind(count: nodeCount, removedRows: removed.words), keyStreamPath: keyStreamPath, tombstones: tombstones)
    }

    /// The input a node comes from, and its entry there.
    func locate(_ node: Int) -> (input: Int, entry: Int) {
        var low = 0
        var high = inputs.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if inputs[middle].base <= node { low = middle } else { high = middle - 1 }
        }
        return (low, node - inputs[low].base)
    }

    /// Walks every key of every input in order, uniting the nodes that share one: the united
    /// sets, the number of distinct keys, and the distinct keys of each kind.
    mutating func link() throws -> (forest: UnionFind, distinctKeys: Int, keyCounts: [Int]) {
        guard var linker else { preconditionFailure("link is called once") }
        self.linker = nil  // so that the forest below is the only reference to its nodes
        var hasDigest = NodeSet(count: nodeCount)
        for kind in DigestKind.allCases {
            let indexes = inputs.map { $0.database.index(kind) }
            let kindCode = LinkKey.kindCode(kind)
            try mergeSorted(counts: indexes.map(\.count), key: { indexes[$0].key($1) }) { input, position, key in
                let node = try node(input: input, entry: indexes[input].entry(position))
                guard !excluded.contains(node) else { return }
                hasDigest.insert(node)
                try linker.link(kind: kindCode, value: key, row: node)
            }
        }
        let tables = inputs.map { $0.database.pdq }
        try mergeSorted(counts: tables.map(\.count), key: { tables[$0].hash($1).bits }) { input, position, key in
            let node = try node(input: input, entry: tables[input].entry(position))
            guard !excluded.contains(node), !hasDigest.contains(node) else { return }
            try linker.link(kind: LinkKey.pdqKind, value: key, row: node)
        }
        let keyCounts = linker.keyCounts
        let (forest, distinctKeys) = try linker.finish()
        return (forest, distinctKeys, keyCounts)
    }

    /// The node of entry `entry` of input `input`, checked: a damaged input is refused, never
    /// read out of bounds.
    func node(input: Int, entry: Int) throws(DatabaseError) -> Int {
        let database = inputs[input].database
        guard entry >= 0 && entry < database.entryCount else {
            throw .corrupt(path: database.path, detail: "a key refers to entry \(entry) of \(database.entryCount)")
        }
        return inputs[input].base + entry
    }

    /// Calls `body` for every (input, position, key) of k sorted sequences, in key order (ties
    /// in input order).
    func mergeSorted(counts: [Int], key: (Int, Int) -> Bytes32, _ body: (Int, Int, Bytes32) throws -> Void) throws {
        var cursors = [Int](repeating: 0, count: counts.count)
        var heads: [Bytes32?] = counts.indices.map { counts[$0] > 0 ? key($0, 0) : nil }
        while true {
            var best = -1
            for input in heads.indices {
                guard let head = heads[input] else { continue }
                if best < 0 || head < heads[best]! { best = input }
            }
            guard best >= 0 else { return }
            try body(best, cursors[best], heads[best]!)
            cursors[best] += 1
            heads[best] = cursors[best] < counts[best] ? key(best, cursors[best]) : nil
        }
    }
}

/// One bit per node (or row).
struct NodeSet {
    private(set) var words: [UInt64]

    init(count: Int) {
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always) func contains(_ node: Int) -> Bool { words[node >> 6] & (1 << UInt64(node & 63)) != 0 }
    @inline(__always) mutating func insert(_ node: Int) { words[node >> 6] |= 1 << UInt64(node & 63) }
}
