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
    /// Each input's first node and entry count, apart from the databases: hot loops read
    /// these without copying a database value (and retaining its references).
    let bases: [Int]
    let entryCounts: [Int]
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
        self.bases = bases
        entryCounts = databases.map(\.entryCount)
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
                for entry in try input.database.entries(withID: id) {
                    removed.insert(input.base + entry)
                }
            }
        }
        linker = try KeyLinker(forest: UnionFind(count: nodeCount, removedRows: removed.words), keyStreamPath: keyStreamPath, tombstones: tombstones)
    }

    /// The input a node comes from, and its entry there.
    func locate(_ node: Int) -> (input: Int, entry: Int) {
        var low = 0
        var high = bases.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if bases[middle] <= node { low = middle } else { high = middle - 1 }
        }
        return (low, node - bases[low])
    }

    /// Walks every key of every input in order, uniting the nodes that share one: the united
    /// sets, the number of distinct keys, and the distinct keys of each kind.
    mutating func link(progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws
        -> (forest: UnionFind, distinctKeys: Int, keyCounts: [Int]) {
        guard var linker else { preconditionFailure("link is called once") }
        self.linker = nil  // so that the forest below is the only reference to its nodes
        var hasDigest = NodeSet(count: nodeCount)
        let total = inputs.reduce(0) { sum, input in sum + DigestKind.allCases.reduce(input.database.pdqCount) { $0 + input.database.digestCount($1) } }
        var done = 0
        var pages = PageReleaser(inputs.map(\.database))
        for kind in DigestKind.allCases {
            var keys = KWayMerge(inputs.map { $0.database.index(kind) })
            let kindCode = LinkKey.kindCode(kind)
            while let (input, position, key) = keys.next() {
                done += 1
                if BuildProgress.due(done) { progress(done, total) }
                if let ahead = keys.entry(input: input, position: position + Self.prefetchDistance) {
                    linker.prefetch(row: bases[input] + ahead)
                }
                pages.didRead()
                let node = try node(input: input, entry: keys.sources[input].entry(position))
                guard !excluded.contains(node) else { continue }
                hasDigest.insert(node)
                try linker.link(kind: kindCode, value: key, row: node)
            }
        }
        // Videos without a digest are linked by their frames (`StoredVideo.linkKey`), after
        // the PDQ hashes: their frame hashes in the PDQ tables link nothing.
        var videoKeys: [(key: Bytes32, node: Int)] = []
        for input in inputs.indices {
            let videos = inputs[input].database.videos
            for position in 0..<videos.count {
                let node = try node(input: input, entry: videos.record(position).entry)
                guard !excluded.contains(node), !hasDigest.contains(node) else { continue }
                guard let records = videos.frameRecords(at: position) else {
                    throw DatabaseError.corrupt(path: inputs[input].database.path, detail: "video \(position) has frames outside its section")
                }
                videoKeys.append((StoredVideo.linkKey(frameRecords: records), node))
                hasDigest.insert(node)
            }
        }
        // Then TMKs of entries with neither digest nor frames.
        var tmkKeys: [(key: Bytes32, node: Int)] = []
        for input in inputs.indices {
            let table = inputs[input].database.tmk
            for position in 0..<table.count {
                let node = try node(input: input, entry: table.entry(position))
                guard !excluded.contains(node), !hasDigest.contains(node) else { continue }
                tmkKeys.append((table.features(at: position).linkKey, node))
                hasDigest.insert(node)
            }
        }
        // PDQ hashes link only nodes without a digest; when every node has one, the pass over
        // the PDQ tables (a third of the keys) would link nothing.
        let coveredNodes = zip(hasDigest.words, excluded.words).reduce(0) { $0 + ($1.0 | $1.1).nonzeroBitCount }
        let linkByPDQ = coveredNodes < nodeCount
        var hashes = KWayMerge(linkByPDQ ? inputs.map { $0.database.pdq } : [])
        if !linkByPDQ {
            done = total  // the skipped keys are done with: progress ends at its total
            progress(done, total)
        }
        while let (input, position, key) = hashes.next() {
            done += 1
            if BuildProgress.due(done) { progress(done, total) }
            if let ahead = hashes.entry(input: input, position: position + Self.prefetchDistance) {
                linker.prefetch(row: bases[input] + ahead)
            }
            pages.didRead()
            let node = try node(input: input, entry: hashes.sources[input].entry(position))
            guard !excluded.contains(node), !hasDigest.contains(node) else { continue }
            try linker.link(kind: LinkKey.pdqKind, value: key, row: node)
        }
        videoKeys.sort { ($0.key, $0.node) < ($1.key, $1.node) }
        for (key, node) in videoKeys {
            try linker.link(kind: LinkKey.videoKind, value: key, row: node)
        }
        tmkKeys.sort { ($0.key, $0.node) < ($1.key, $1.node) }
        for (key, node) in tmkKeys {
            try linker.link(kind: LinkKey.tmkKind, value: key, row: node)
        }
        pages.releaseNow()
        let keyCounts = linker.keyCounts
        let (forest, distinctKeys) = try linker.finish()
        return (forest, distinctKeys, keyCounts)
    }

    /// How many keys ahead a linking loop prefetches the node it will need.
    static let prefetchDistance = 16

    /// The node of entry `entry` of input `input`, checked: a damaged input is refused, never
    /// read out of bounds.
    @inline(__always)
    func node(input: Int, entry: Int) throws(DatabaseError) -> Int {
        guard entry >= 0 && entry < entryCounts[input] else {
            throw .corrupt(path: inputs[input].database.path, detail: "a key refers to entry \(entry) of \(entryCounts[input])")
        }
        return bases[input] + entry
    }
}
