import Foundation

/// The inputs' label names, and which input entries a source filter leaves out.
struct InputLabels {
    /// Per input, each label id's name.
    let names: [[String]]
    /// Per input, the length of its label sets section in words.
    let labelSetWords: [Int]
    let filter: DatabaseMerger.SourceFilter
    private let databases: [HashDatabase]

    init(databases: [HashDatabase], filter: DatabaseMerger.SourceFilter) throws {
        self.databases = databases
        self.filter = filter
        labelSetWords = databases.map(\.labelSets.wordCount)
        names = try databases.map { database in
            try (0..<database.labels.count).map { label throws(DatabaseError) in
                guard let name = database.labels.string(label) else {
                    throw .corrupt(path: database.path, detail: "label \(label) is missing or not UTF-8")
                }
                return name
            }
        }
    }

    /// The label set at `offset` of input `input`: its category and source names, the
    /// dropped sources taken off.
    func set(input: Int, offset: Int) throws(DatabaseError) -> (categories: [String], sources: [String]) {
        guard let set = databases[input].labelSets.set(at: offset) else {
            throw .corrupt(path: databases[input].path, detail: "a label set at \(offset) runs outside its section")
        }
        func named(_ ids: [Int]) throws(DatabaseError) -> [String] {
            var result: [String] = []
            for id in ids {
                guard id < names[input].count else { throw .corrupt(path: databases[input].path, detail: "label \(id) does not exist") }
                result.append(names[input][id])
            }
            return result
        }
        return (try named(set.categories), try named(set.sources).filter { !filter.drop.contains($0) })
    }

    /// The input entries (as nodes) the filter leaves out, and how many; nil without a filter.
    func excludedNodes() throws -> (nodes: NodeSet, count: Int)? {
        guard !filter.isEmpty else { return nil }
        let bases = DatabaseUnion.bases(of: databases)
        var nodes = NodeSet(count: databases.reduce(0) { $0 + $1.entryCount })
        var count = 0
        for (input, database) in databases.enumerated() {
            var decisions: [Int: Bool] = [:]
            for entry in 0..<database.entryCount {
                let offset = try database.entryRecord(entry).labelSet
                let excluded: Bool
                if let known = decisions[offset] {
                    excluded = known
                } else {
                    guard let set = database.labelSets.set(at: offset) else {
                        throw DatabaseError.corrupt(path: database.path, detail: "a label set at \(offset) runs outside its section")
                    }
                    let sources = set.sources.compactMap { $0 < names[input].count ? names[input][$0] : nil }
                    excluded = (!filter.keep.isEmpty && !sources.contains(where: filter.keep.contains))
                        || (!filter.drop.isEmpty && !sources.isEmpty && sources.allSatisfy(filter.drop.contains))
                    decisions[offset] = excluded
                }
                if excluded {
                    nodes.insert(bases[input] + entry)
                    count += 1
                }
            }
        }
        return (nodes, count)
    }
}

/// The label sets of the input entries a merge keeps, renamed into the output's labels.
struct LabelSetTable {
    let labels: InputLabels
    /// For every input's label set word offset, the index of its set among the used ones
    /// (-1: unused); the inputs' offsets laid end to end, input i's from `bases[i]`.
    private var used: [Int32]
    private let bases: [Int]
    private var usedOrder: [(input: Int, offset: Int)] = []

    init(labels: InputLabels) {
        self.labels = labels
        var bases: [Int] = []
        var total = 0
        for count in labels.labelSetWords {
            bases.append(total)
            total += count
        }
        self.bases = bases
        used = [Int32](repeating: -1, count: total)
    }

    mutating func markUsed(input: Int, labelSet offset: Int) throws(InputEntryError) {
        guard offset >= 0 && offset < labels.labelSetWords[input] else {
            throw InputEntryError(input: input, detail: "a label set at \(offset) runs outside its section")
        }
        let slot = bases[input] + offset
        guard used[slot] < 0 else { return }
        used[slot] = Int32(usedOrder.count)
        usedOrder.append((input, offset))
    }

    struct Result {
        /// The output's label names, in byte order.
        let names: [String]
        /// Each used set in output label ids.
        let sets: [RowLabelSet]
        fileprivate let used: [Int32]
        fileprivate let bases: [Int]

        /// The row label set of input `input`'s label set at `offset` (one that was marked used).
        func rowLabelSet(input: Int, offset: Int) -> UInt32 {
            UInt32(used[bases[input] + offset])
        }
    }

    /// The used sets in output label ids: names interned as `LabelInterner` does for a build,
    /// so that a merge numbers labels exactly as a build of the same rows would.
    func finish() throws -> Result {
        var interner = LabelInterner()
        var firstSeen: [RowLabelSet] = []
        for (input, offset) in usedOrder {
            let set = try labels.set(input: input, offset: offset)
            firstSeen.append(RowLabelSet(categories: interner.ids(set.categories), sources: interner.ids(set.sources)))
        }
        let (names, mapping) = interner.sortedMapping(keeping: Set(0..<UInt32(interner.count)))
        let sets = firstSeen.map { set in
            RowLabelSet(categories: set.categories.map { mapping[Int($0)] }.sorted(), sources: set.sources.map { mapping[Int($0)] }.sorted())
        }
        return Result(names: names, sets: sets, used: used, bases: bases)
    }
}
