import Synchronization
import Foundation

/// Combines databases into a new one (`hashdb merge`, `subtract`, `intersect`) in bounded
/// memory: 8 bytes an input entry while entries are linked, then the sort buffers of
/// `Options.memoryBudget`. Lists are built into a database first (`DatabaseBuilder`), so a
/// merge only ever combines databases.
///
/// 1. The inputs' keys are merged in order and their entries linked (`DatabaseUnion`);
///    tombstones of every input and of this merge remove what they name.
/// 2. The operation decides which linked groups stay; groups become entries, numbered as a
///    build numbers them.
/// 3. Each entry is written from its input entries (ids, labels, earliest added); the digest
///    indexes come from the merged key stream and the PDQ table from a second merge of the
///    inputs' PDQ tables. Only the ids need a sort.
public final class DatabaseMerger {
    public enum Operation: Sendable, Equatable {
        /// Everything in any input.
        case union
        /// What every input has (entries linked across all of them, by digest).
        case intersection
        /// What the first input has and no other does (by digest); with a radius, also
        /// without a PDQ hash within that distance of one of the others'.
        case difference(nearRadius: Int?)

        var name: String {
            switch self {
            case .union: "union"
            case .intersection: "intersection"
            case .difference(let radius): radius.map { "difference (near \($0))" } ?? "difference"
            }
        }
    }

    /// Which sources to take: only entries carrying one of `keep` (when not empty); the
    /// sources in `drop` are taken off every entry, and entries left with no source go.
    public struct SourceFilter: Sendable, Equatable {
        public var keep: Set<String>
        public var drop: Set<String>

        public init(keep: Set<String> = [], drop: Set<String> = []) {
            self.keep = keep
            self.drop = drop
        }

        var isEmpty: Bool { keep.isEmpty && drop.isEmpty }
    }

    public struct Summary: Sendable, Equatable {
        /// Entries of all inputs together.
        public var inputEntries = 0
        public var entries = 0
        /// Linked groups left out because a tombstone names one of their keys or ids.
        public var removedEntries = 0
        /// Groups the operation left out (found on the other side of a subtraction, or not in
        /// every input of an intersection).
        public var droppedEntries = 0
        /// Input entries the source filter left out.
        public var filteredEntries = 0
        /// Input entries that joined another input's entry (they shared a digest).
        public var mergedEntries = 0
        /// Output entries with a digest the allowlist names: their matches are suppressed.
        public var allowlistedEntries = 0
        public var digests: [DigestKind: Int] = [:]
        public var pdqHashes = 0
        public var tombstones = 0
        public var allowEntries = 0
        public var checksum = Bytes32.zero
    }

    public let destination: String
    private let options: DatabaseBuilder.Options
    private let workDirectory: String
    private var databases: [HashDatabase] = []
    /// Positions in `databases` of the inputs whose checksum `write` still has to check.
    private var unverified: [Int] = []
    private var manifestInputs: [DatabaseBuilder.ManifestInput] = []
    private var manifestOptions: [String: String] = [:]
    private let annotations: AnnotationWriter
    public var sourceFilter = SourceFilter()

    public init(destination: String, options: DatabaseBuilder.Options = DatabaseBuilder.Options()) throws {
        self.destination = destination
        self.options = options
        workDirectory = AtomicFile.temporaryPath(for: destination, kind: "work")
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: false)
        annotations = AnnotationWriter(directory: workDirectory, memoryBudget: options.memoryBudget / 4)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    /// A directory for working files that lives as long as the merger (a list input built
    /// into a database first goes here).
    public var scratchDirectory: String { workDirectory }

    /// Adds an input; for an operation other than union, the first input is the one the
    /// others are compared with.
    ///
    /// `write` checks each input's checksum first (every input at once, one a core) and
    /// refuses to run on a mismatch: a merge must not give damaged content a fresh, valid
    /// checksum. `verifyChecksum: false` is for a database this process has just written.
    public func add(_ database: HashDatabase, verifyChecksum: Bool = true) {
        databases.append(database)
        if verifyChecksum { unverified.append(databases.count - 1) }
    }

    /// Throws `checksumMismatch` naming the first input (in the order added) whose checksum
    /// does not hold.
    private func verifyInputChecksums() throws(DatabaseError) {
        let inputs = unverified.map { databases[$0] }
        let holds = Mutex([Bool](repeating: false, count: inputs.count))
        DispatchQueue.concurrentPerform(iterations: inputs.count) { slot in
            let matches = inputs[slot].checksumMatches()
            holds.withLock { $0[slot] = matches }
        }
        let results = holds.withLock { $0 }
        for (slot, input) in unverified.enumerated() where !results[slot] {
            throw .checksumMismatch(path: databases[input].path)
        }
        unverified = []
    }

    /// Describes an input in the output's manifest (databases, lists, removal lists).
    public func addManifestInput(_ input: DatabaseBuilder.ManifestInput) {
        manifestInputs.append(input)
    }

    /// Removals, kept in the output with those of every input.
    public func addTombstones(_ tombstones: [Tombstone]) {
        for tombstone in tombstones { annotations.add(tombstone) }
    }

    /// Known-benign hashes (only hashes: an id is refused), kept with those of every input.
    public func addAllowEntries(_ entries: [AllowEntry]) throws {
        for entry in entries { try annotations.add(entry) }
    }

    public func setManifestOption(_ name: String, _ value: String) {
        manifestOptions[name] = value
    }

    /// Writes the combined database over `destination` (atomically, as a build does).
    public func write(_ operation: Operation = .union, progress: ((BuildProgress) -> Void)? = nil) throws -> Summary {
        guard !databases.isEmpty else { throw InputError(file: destination, reason: "nothing to merge") }
        if operation == .intersection, databases.count > 8 {
            throw InputError(file: destination, reason: "an intersection takes at most 8 inputs")
        }
        try verifyInputChecksums()
        var summary = Summary()
        summary.inputEntries = databases.reduce(0) { $0 + $1.entryCount }
        for database in databases { try annotations.addAll(from: database) }
        let tombstones = annotations.allTombstones
        summary.tombstones = tombstones.count

        // Stage 1: link every input's entries by their keys.
        let linking = "linking \(summary.inputEntries) entries of \(databases.count) databases"
        progress?(BuildProgress(stage: linking))
        let labels = try InputLabels(databases: databases, filter: sourceFilter)
        let excluded = try labels.excludedNodes()
        summary.filteredEntries = excluded?.count ?? 0
        var union = try DatabaseUnion(databases: databases, excluded: excluded?.nodes, tombstones: tombstones,
                                      keyStreamPath: workDirectory + "/keys.spill")
        var (forest, distinctKeys, keyCounts) = try union.link { done, total in
            progress?(BuildProgress(stage: linking, done: done, total: total))
        }

        // Stage 2: what the operation keeps.
        progress?(BuildProgress(stage: "applying the \(operation.name)"))
        summary.droppedEntries = try dropGroups(for: operation, union: union, forest: &forest)
        // `consume`: the numbering rewrites the forest in place; a copy would double its memory.
        let entryOfNode = (consume forest).entryNumbers(distinctKeys: distinctKeys)
        summary.entries = entryOfNode.entryCount
        summary.removedEntries = entryOfNode.removedSets - summary.filteredEntries - summary.droppedEntries
        let leftOut = entryOfNode.entries.lazy.filter { $0 == EntryNumbering.removed }.count
        summary.mergedEntries = summary.inputEntries - summary.entries - leftOut

        // Stage 3: entries, from their input entries grouped by entry (a counting sort: the
        // entries are numbered already). Input pages read are let go every so often, so that
        // resident memory stays bounded however large the inputs.
        progress?(BuildProgress(stage: "writing \(entryOfNode.entryCount) entries", total: entryOfNode.entryCount))
        do {
            return try writeEntriesAndIndexes(operation: operation, summary: &summary, labels: labels, union: union, entryOfNode: entryOfNode,
                                              keyCounts: keyCounts, progress: progress)
        } catch let error as InputEntryError {
            throw DatabaseError.corrupt(path: databases[error.input].path, detail: error.detail)
        }
    }

    /// Stages 3 to 5 (see `write`).
    private func writeEntriesAndIndexes(operation: Operation, summary: inout Summary, labels: InputLabels, union: DatabaseUnion,
                                        entryOfNode: EntryNumbering, keyCounts: [Int], progress: ((BuildProgress) -> Void)?) throws -> Summary {
        var labelSets = LabelSetTable(labels: labels)
        let inputEntries = databases.enumerated().map { InputEntries(database: $1, input: $0) }
        var pages = PageReleaser(databases)
        for node in 0..<union.nodeCount where entryOfNode.entries[node] != EntryNumbering.removed {
            let (input, inputEntry) = union.locate(node)
            try labelSets.markUsed(input: input, labelSet: inputEntries[input].record(inputEntry).labelSet)
            pages.didRead()
        }
        pages.releaseNow()
        let rowLabelSets = try labelSets.finish()
        let output = try DatabaseOutput(destination: destination)
        let entryWriter = try EntryWriter(
            directory: workDirectory, output: output, entryCount: entryOfNode.entryCount, pdqMemory: 0, idMemory: options.memoryBudget / 2,
            rowLabelSets: rowLabelSets.sets, labelMapping: (0..<UInt32(rowLabelSets.names.count)).map { $0 },
            canonicalKeys: try CanonicalKeyReader(path: workDirectory + "/keys.spill", canonical: entryOfNode.canonicalOrdinals))
        var rows: [SpilledRow] = []
        let idArena = ByteBuffer()
        // Entries a range at a time, so that grouping their nodes takes bounded memory.
        let rangeLength = 16 << 20
        var groups = NodeGroups(entryOfNode: entryOfNode, entries: 0..<min(entryOfNode.entryCount, rangeLength))
        for entry in 0..<entryOfNode.entryCount {
            if !groups.entries.contains(entry) {
                groups = NodeGroups(entryOfNode: entryOfNode, entries: entry..<min(entryOfNode.entryCount, entry + rangeLength))
            }
            rows.removeAll(keepingCapacity: true)
            idArena.removeAll()
            for node in groups.nodes(of: entry) {
                let (input, inputEntry) = union.locate(Int(node))
                try inputEntries[input].appendRows(of: inputEntry, labelSet: { rowLabelSets.rowLabelSet(input: input, offset: $0) },
                                                   to: &rows, ids: idArena)
                pages.didRead()
            }
            try entryWriter.write(entry: entry, rows: rows, ids: idArena)
            if BuildProgress.due(entry) {
                progress?(BuildProgress(stage: "writing \(entryOfNode.entryCount) entries", done: entry, total: entryOfNode.entryCount))
            }
        }
        groups = NodeGroups()
        pages.releaseNow()
        try entryWriter.finishSections(labelNames: rowLabelSets.names)

        // Stages 4 and 5 at once: the digest indexes (from the key stream) and the id index, and
        // the PDQ table (a merge of the inputs') with its near index.
        progress?(BuildProgress(stage: "writing the indexes"))
        let idIndex = IDKey.indexWriter(count: entryWriter.idSorter.count, in: output)
        let keyStreamPath = workDirectory + "/keys.spill"
        let directory = workDirectory
        let (digestSections, pdqCount) = try inParallel({
            let sections = try DigestIndexWriter.writeAll(keyStreamPath: keyStreamPath, counts: keyCounts, entryOfRow: entryOfNode, directory: directory)
            try IDKey.writeIndex(from: entryWriter.idSorter, to: idIndex)
            return sections
        }, {
            let pdqTable = try PDQTableWriter(directory: directory)
            try self.mergePDQTables(union: union, entryOfNode: entryOfNode, into: pdqTable)
            try pdqTable.finish(into: output, nearIndexTables: self.options.nearIndexTables, memoryBudget: PDQTableWriter.nearIndexMemory(self.options.memoryBudget))
            return pdqTable.count
        })
        summary.pdqHashes = pdqCount
        for section in digestSections { try output.place(section) }
        for (kind, section) in zip(DigestKind.allCases, digestSections) {
            summary.digests[kind] = section.count
        }
        let annotationSections = try annotations.finish(directory: workDirectory)
        summary.allowEntries = annotationSections.first { $0.kind == .allowlist }?.count ?? 0
        for section in annotationSections { try output.place(section) }
        let manifest = Array(manifestJSON(operation: operation, summary: summary).utf8)
        try output.place(SectionContent(kind: .manifest, count: manifest.count, pieces: [.bytes(manifest)]))

        progress?(BuildProgress(stage: "writing \(destination)"))
        summary.checksum = try output.commit(entryCount: entryOfNode.entryCount, createdAt: options.createdAt)
        summary.allowlistedEntries = try HashDatabase.open(path: destination).allowlistedEntryCount()
        return summary
    }

    /// Marks the groups the operation leaves out as removed; how many there were.
    private func dropGroups(for operation: Operation, union: DatabaseUnion, forest: inout UnionFind) throws -> Int {
        guard operation != .union else { return 0 }
        // Which inputs each group holds, as bits on its root: for an intersection one bit an
        // input (at most 8), for a difference bit 0 the first input and bit 1 any other.
        var inputsOfRoot = [UInt8](repeating: 0, count: union.nodeCount)
        for node in 0..<union.nodeCount where !union.excluded.contains(node) {
            let input = union.locate(node).input
            inputsOfRoot[forest.find(node)] |= operation == .intersection ? 1 << UInt8(input) : (input == 0 ? 1 : 2)
        }
        let wanted: UInt8 = operation == .intersection ? UInt8((1 << databases.count) - 1) : 1
        var dropped = 0
        for node in 0..<union.nodeCount where inputsOfRoot[node] != 0 && inputsOfRoot[node] != wanted && !forest.isRemoved(node) {
            forest.markRemoved(node)
            dropped += 1
        }
        if case .difference(let radius?) = operation {
            for entry in try entriesNear(others: Array(databases.dropFirst()), of: databases[0], radius: radius) {
                let root = forest.find(union.bases[0] + entry)
                if !forest.isRemoved(root) && !union.excluded.contains(root) {
                    forest.markRemoved(root)
                    dropped += 1
                }
            }
        }
        return dropped
    }

    /// Entries of `database` with a PDQ hash within `radius` of a PDQ hash in `others`, found
    /// on all cores.
    private func entriesNear(others: [HashDatabase], of database: HashDatabase, radius: Int) throws -> Set<Int> {
        let table = database.pdq
        let chunks = max(1, min(64, table.count / 1024))
        let found = LockedSet()
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let scratch = NearIndex.Scratch()
            var near: [Int] = []
            for position in (table.count * chunk / chunks)..<(table.count * (chunk + 1) / chunks) {
                let hash = table.hash(position)
                for other in others where !other.nearHits([(hash, .original)], threshold: radius, minQuality: 0, scratch: scratch).isEmpty {
                    near.append(table.entry(position))
                    break
                }
            }
            found.insert(near)
        }
        let entries = found.values
        for entry in entries where entry >= database.entryCount {
            throw DatabaseError.corrupt(path: database.path, detail: "the PDQ table refers to entry \(entry) of \(database.entryCount)")
        }
        return entries
    }

    /// The inputs' PDQ tables merged in hash order, with entries renumbered: a hash an entry
    /// got from several inputs is kept once, with the best quality known.
    private func mergePDQTables(union: DatabaseUnion, entryOfNode: EntryNumbering, into writer: PDQTableWriter) throws {
        var hashes = KWayMerge(union.inputs.map { $0.database.pdq })
        var run: [(entry: UInt32, quality: UInt8)] = []
        var runHash = Bytes32.zero
        var pages = PageReleaser(databases)
        func flush() throws {
            if run.count > 1 { run.sort { $0.entry < $1.entry } }
            var index = 0
            while index < run.count {
                var quality = run[index].quality
                var next = index + 1
                while next < run.count && run[next].entry == run[index].entry {
                    quality = PDQQualityByte.better(quality, run[next].quality)
                    next += 1
                }
                try writer.add(hash: runHash, entry: run[index].entry, quality: quality)
                index = next
            }
            run.removeAll(keepingCapacity: true)
        }
        while let (input, position, hash) = hashes.next() {
            pages.didRead()
            // Entries are read at random (hash order is not entry order): a few rows ahead.
            if let ahead = hashes.entry(input: input, position: position + DatabaseUnion.prefetchDistance) {
                entryOfNode.prefetch(node: union.bases[input] + ahead)
            }
            let entry = entryOfNode.entries[try union.node(input: input, entry: hashes.sources[input].entry(position))]
            guard entry != EntryNumbering.removed else { continue }
            if hash != runHash || run.isEmpty {
                try flush()
                runHash = hash
            }
            run.append((entry, hashes.sources[input].rawQuality(position)))
        }
        try flush()
        pages.releaseNow()
    }

    private func manifestJSON(operation: Operation, summary: Summary) -> String {
        var json = JSONWriter()
        json.beginObject()
        DatabaseBuilder.writeManifestHead(operation: operation.name, inputs: manifestInputs, options: manifestOptions, into: &json)
        json.member("tombstones", summary.tombstones)
        json.member("allowlist", summary.allowEntries)
        json.member("removed", summary.removedEntries)
        json.member("entries", summary.entries)
        json.endObject()
        return json.output
    }
}

/// PDQ quality as the table stores it: 0...100, or 255 for unknown (which any known one beats).
enum PDQQualityByte {
    static func better(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == DatabaseFormat.unknownQuality { return b }
        if b == DatabaseFormat.unknownQuality { return a }
        return max(a, b)
    }
}

/// Entry numbers found by several threads.
private final class LockedSet: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var found = Set<Int>()

    func insert(_ values: [Int]) {
        lock.lock()
        found.formUnion(values)
        lock.unlock()
    }

    var values: Set<Int> {
        lock.lock()
        defer { lock.unlock() }
        return found
    }
}

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

    func finish() throws -> Result {
        var named: [(categories: [String], sources: [String])] = []
        var all = Set<[UInt8]>()
        for (input, offset) in usedOrder {
            let set = try labels.set(input: input, offset: offset)
            named.append(set)
            for name in set.categories + set.sources { all.insert(Array(name.utf8)) }
        }
        let names = all.sorted { $0.lexicographicallyPrecedes($1) }
        var idOf: [[UInt8]: UInt32] = [:]
        for (index, name) in names.enumerated() { idOf[name] = UInt32(index) }
        let sets = named.map { set in
            RowLabelSet(categories: Array(Set(set.categories.map { idOf[Array($0.utf8)]! })).sorted(),
                        sources: Array(Set(set.sources.map { idOf[Array($0.utf8)]! })).sorted())
        }
        return Result(names: names.map { String(decoding: $0, as: UTF8.self) }, sets: sets, used: used, bases: bases)
    }
}

/// The nodes of a range of entries, grouped by the entry they became: a counting sort on
/// their entry numbers (one pass over all nodes a range).
struct NodeGroups {
    let entries: Range<Int>
    /// Entry `entries.lowerBound + e`'s nodes are `nodes[starts[e] ..< starts[e + 1]]`, ascending.
    private let starts: [UInt32]
    private let nodes: [UInt32]

    /// None (to let go of the memory).
    init() {
        entries = 0..<0
        starts = [0]
        nodes = []
    }

    init(entryOfNode: EntryNumbering, entries: Range<Int>) {
        self.entries = entries
        let low = UInt32(entries.lowerBound)
        let width = UInt32(entries.count)
        var starts = [UInt32](repeating: 0, count: entries.count + 1)
        for entry in entryOfNode.entries where entry &- low < width { starts[Int(entry - low) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        var next = starts
        var nodes = [UInt32](repeating: 0, count: Int(starts.last!))
        for (node, entry) in entryOfNode.entries.enumerated() where entry &- low < width {
            nodes[Int(next[Int(entry - low)])] = UInt32(node)
            next[Int(entry - low)] += 1
        }
        self.starts = starts
        self.nodes = nodes
    }

    func nodes(of entry: Int) -> ArraySlice<UInt32> {
        let slot = entry - entries.lowerBound
        return nodes[Int(starts[slot])..<Int(starts[slot + 1])]
    }
}

/// Runs two independent stages at once: `first` on a thread of its own, `second` on the
/// caller's. Returns when both have; rethrows the first's error, then the second's.
func inParallel<A, B>(_ first: () throws -> A, _ second: () throws -> B) throws -> (A, B) {
    try withoutActuallyEscaping(first) { first in
        let task = ThreadTask(first)
        let thread = Thread { task.run() }
        thread.stackSize = 8 << 20
        thread.start()
        let secondResult = Result { try second() }
        return (try task.wait(), try secondResult.get())
    }
}

/// A body run on another thread and its result. The body and the result are touched only by
/// that thread until it signals `done`, and by the caller only after waiting on `done`: that
/// makes the @unchecked Sendable sound. The body is let go before the signal, so that it does
/// not outlive `withoutActuallyEscaping`.
private final class ThreadTask<A>: @unchecked Sendable {
    private var body: (() throws -> A)?
    private var result: Result<A, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> A) {
        self.body = body
    }

    func run() {
        result = Result { try body!() }
        body = nil
        done.signal()
    }

    func wait() throws -> A {
        done.wait()
        return try result!.get()
    }
}

/// The entry records and ids of one input, held apart from its database value (they are
/// plain views: reading them retains nothing).
struct InputEntries {
    /// The input's position among the merger's inputs (errors name its file through it).
    let input: Int
    let entries: EntryTable
    let ids: StringPool

    init(database: HashDatabase, input: Int) {
        self.input = input
        entries = database.entries
        ids = database.ids
    }

    func record(_ entry: Int) throws(InputEntryError) -> EntryTable.Record {
        guard let record = entries.record(entry) else {
            throw InputEntryError(input: input, detail: "entry \(entry) does not exist (\(entries.count) entries)")
        }
        return record
    }

    /// One spilled row per id of the entry (one without an id when its id was made up: the
    /// merged entry makes its own).
    func appendRows(of entry: Int, labelSet: (Int) -> UInt32, to rows: inout [SpilledRow], ids arena: ByteBuffer) throws {
        let record = try record(entry)
        let added = record.added == 0 ? nil : record.added
        let set = labelSet(record.labelSet)
        guard !record.hasGeneratedID, record.idCount > 0 else {
            rows.append(SpilledRow(labelSet: set, added: added))
            return
        }
        for offset in 0..<record.idCount {
            guard let id = ids.bytes(record.firstID + offset) else {
                throw InputEntryError(input: input, detail: "entry \(entry) refers to id \(record.firstID + offset), which is missing")
            }
            let start = arena.count
            arena.append(id)
            rows.append(SpilledRow(labelSet: set, added: added, id: start..<arena.count))
        }
    }
}

/// A damaged input entry, named by the input's position (turned into a `DatabaseError`
/// naming the file by the merger).
struct InputEntryError: Error {
    let input: Int
    let detail: String
}
