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
/// 3. Each entry is written from its input entries (ids, labels, earliest added).
/// 4. The digest indexes come from the merged key stream; the ids are sorted for the id index.
/// 5. The PDQ table comes from a second merge of the inputs' PDQ tables; the near index, the
///    removals, allowlist and manifest follow and the file is committed (`IndexStage`).
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
    private let work: WorkDirectory
    private var workDirectory: String { work.path }
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
        work = try WorkDirectory(beside: destination)
        annotations = AnnotationWriter(directory: work.path, memoryBudget: options.memoryBudget / 4)
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
        let failures = Mutex([DatabaseError?](repeating: nil, count: inputs.count))
        DispatchQueue.concurrentPerform(iterations: inputs.count) { slot in
            do throws(DatabaseError) {
                try inputs[slot].requireChecksum()
            } catch {
                failures.withLock { $0[slot] = error }
            }
        }
        if let first = failures.withLock({ $0.compactMap { $0 }.first }) { throw first }
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
    public func write(_ operation: Operation = .union, progress: ((BuildProgress) -> Void)? = nil) throws(BuildError) -> Summary {
        try BuildError.mapping { try writeDatabase(operation, progress: progress) }
    }

    private func writeDatabase(_ operation: Operation, progress: ((BuildProgress) -> Void)?) throws -> Summary {
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

    /// Stages 3 to 5 (see the type's documentation).
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
            canonicalKeys: try CanonicalKeyReader(path: workDirectory + "/keys.spill", canonical: entryOfNode.canonicalOrdinals), queuesFrameHashes: false)
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

        // Stages 4 and 5: the indexes, the PDQ table merged from the inputs', the rest, the commit.
        let (_, checksum) = try IndexStage.finish(
            output: output, workDirectory: workDirectory, keyCounts: keyCounts, entryOfRow: entryOfNode, entryWriter: entryWriter,
            annotations: annotations, options: options, entryCount: entryOfNode.entryCount, createdAt: options.createdAt,
            destination: destination, progress: progress,
            fillPDQTable: { pdqTable in try self.mergePDQTables(union: union, entryOfNode: entryOfNode, into: pdqTable) },
            manifest: { counts in
                summary.pdqHashes = counts.pdqHashes
                summary.digests = counts.digests
                summary.allowEntries = counts.allowEntries
                return manifestJSON(operation: operation, summary: summary)
            })
        summary.checksum = checksum
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

/// Entry numbers found by several threads.
private final class LockedSet: Sendable {
    private let found = Mutex(Set<Int>())

    func insert(_ values: [Int]) {
        found.withLock { $0.formUnion(values) }
    }

    var values: Set<Int> { found.withLock { $0 } }
}
