import Foundation

/// Builds a database file from rows, in memory bounded by `Options.memoryBudget` plus 8 bytes
/// a row, however many rows there are: everything else goes through external sorts in a
/// working directory next to the output (docs/FORMAT.md defines what comes out).
///
/// 1. `add` appends each row to a spill file and queues its link keys (its digests, or its PDQ
///    hash when it has no digest) for sorting.
/// 2. The sorted keys are walked in order; rows sharing a key are united (union-find), and
///    each distinct key is written, in order, to a key stream.
/// 3. Each group of united rows becomes an entry; entries are numbered in the order of their
///    smallest key.
/// 4. Rows are sorted by entry, merged, and written as entries, ids and label sets; their PDQ
///    hashes and ids are queued for their own sorts.
/// 5. The key stream, already sorted, becomes the digest indexes; the sorted PDQ hashes and
///    id hashes become their sections; everything is assembled into the file.
public final class DatabaseBuilder {
    public struct Options: Sendable {
        /// Bytes of sort buffers in use at once (each sort gets its share). The rest of a
        /// build's memory is 8 bytes a row while rows are linked, 4 after.
        public var memoryBudget: Int
        /// Recorded in the header when set; otherwise the file holds no wall-clock time.
        public var createdAt: Int64?
        /// The near-match index: built when there are enough PDQ hashes to need one (nil),
        /// never (0), or with this many substring tables (benchmarks).
        public var nearIndexTables: Int?

        public init(memoryBudget: Int = 1024 << 20, createdAt: Int64? = nil, nearIndexTables: Int? = nil) {
            self.memoryBudget = memoryBudget
            self.createdAt = createdAt
            self.nearIndexTables = nearIndexTables
        }
    }

    public struct Summary: Sendable, Equatable {
        public var rows = 0
        public var entries = 0
        public var digests: [DigestKind: Int] = [:]
        public var pdqHashes = 0
        public var checksum = Bytes32.zero
    }

    /// One input for the build manifest.
    public struct ManifestInput: Sendable, Equatable {
        public var name: String
        public var sha256: String?
        public var format: String
        public var rows: Int
        public var rejected: Int

        public init(name: String, sha256: String?, format: String, rows: Int, rejected: Int) {
            self.name = name
            self.sha256 = sha256
            self.format = format
            self.rows = rows
            self.rejected = rejected
        }
    }

    /// Longest id accepted, in bytes.
    public static let maximumIDLength = 4096

    private let options: Options
    /// The file this builder writes, when `write` is called.
    public let destination: String
    private let workDirectory: String
    private let rowSpill: BufferedFileWriter
    private let links: ExternalSorter<LinkKey>
    private var rowCount = 0
    private var labels = LabelInterner()
    private var rowLabelSets: [RowLabelSet: UInt32] = [:]
    private var rowLabelSetList: [RowLabelSet] = []
    private var manifestInputs: [ManifestInput] = []
    private var manifestOptions: [String: String] = [:]

    /// Working files go to a directory next to `destination` (same file system, named so
    /// that `AtomicFile.reclaimStale` finds it if this process dies).
    public init(destination: String, options: Options = Options()) throws {
        self.options = options
        self.destination = destination
        workDirectory = AtomicFile.temporaryPath(for: destination, kind: "work")
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: false)
        rowSpill = try BufferedFileWriter(path: workDirectory + "/rows.spill")
        // Links fill while rows are read, when no other sort holds memory.
        links = ExternalSorter(directory: workDirectory, name: "links", memoryBudget: options.memoryBudget * 3 / 4)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    public func addManifestInput(_ input: ManifestInput) {
        manifestInputs.append(input)
    }

    public func setManifestOption(_ name: String, _ value: String) {
        manifestOptions[name] = value
    }

    /// Why `add` refused a row (the readers already refuse most of these; rows built in code
    /// are checked here too).
    public struct RowRejected: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The largest number of rows one build takes (each row may add three keys, numbered in
    /// 32 bits).
    public static let maximumRows = Int(UInt32.max / 4)

    /// Checks a row as `add` will: a digest or PDQ hash, an id of at most `maximumIDLength`
    /// bytes, a quality from 0 to 100, an added time in `ISOTime.range`.
    public static func check(_ row: ListRow) throws(RowRejected) {
        guard row.hasHash else { throw RowRejected(reason: "no sha256, sha1, md5 or pdq value") }
        if let id = row.id, id.utf8.count > maximumIDLength {
            throw RowRejected(reason: "id longer than \(maximumIDLength) bytes")
        }
        if let quality = row.quality, !(0...100).contains(quality) {
            throw RowRejected(reason: "quality \(quality) is not from 0 to 100")
        }
        if let added = row.added, !ISOTime.range.contains(added) {
            throw RowRejected(reason: "added \(added) is outside the years 0000 to 9999")
        }
    }

    /// Queues one row (see `check` for what it must be).
    public func add(_ row: ListRow) throws {
        try Self.check(row)
        guard rowCount < Self.maximumRows else {
            throw RowRejected(reason: "more than \(Self.maximumRows) rows in one build")
        }
        let rowNumber = UInt32(rowCount)
        rowCount += 1

        if let sha256 = row.sha256 { try links.add(LinkKey(value: sha256, row: rowNumber, kind: LinkKey.kindCode(.sha256))) }
        if let sha1 = row.sha1 { try links.add(LinkKey(value: sha1, row: rowNumber, kind: LinkKey.kindCode(.sha1))) }
        if let md5 = row.md5 { try links.add(LinkKey(value: md5, row: rowNumber, kind: LinkKey.kindCode(.md5))) }
        if !row.hasDigest, let pdq = row.pdq {
            try links.add(LinkKey(value: pdq.bits, row: rowNumber, kind: LinkKey.pdqKind))
        }
        try SpilledRow.write(labelSet: labelSetID(row), added: row.added, pdq: row.pdq, quality: row.quality, id: row.id, to: rowSpill)
    }

    private var labelListIDs: [LabelList: [UInt32]] = [:]
    private var recentLabelSets: [(categories: LabelList, sources: LabelList, id: UInt32)] = []

    /// The row's categories and sources as an interned set. Lists repeat a few label lists
    /// over millions of rows (readers hand out the same arrays for them, which compare
    /// cheaply), so recent answers are kept and each distinct list is resolved once.
    private func labelSetID(_ row: ListRow) -> UInt32 {
        let categories = LabelList(row.categories)
        let sources = LabelList(row.sources)
        for recent in recentLabelSets where recent.categories == categories && recent.sources == sources {
            return recent.id
        }
        let id = resolveLabelSetID(categories, sources)
        recentLabelSets.insert((categories, sources, id), at: 0)
        if recentLabelSets.count > 16 { recentLabelSets.removeLast() }
        return id
    }

    private func resolveLabelSetID(_ categories: LabelList, _ sources: LabelList) -> UInt32 {
        func ids(_ list: LabelList) -> [UInt32] {
            if let known = labelListIDs[list] { return known }
            let resolved = labels.ids(list.labels)
            labelListIDs[list] = resolved
            return resolved
        }
        let labelSet = RowLabelSet(categories: ids(categories), sources: ids(sources))
        if let known = rowLabelSets[labelSet] {
            return known
        }
        let id = UInt32(rowLabelSetList.count)
        rowLabelSets[labelSet] = id
        rowLabelSetList.append(labelSet)
        return id
    }

    /// Builds the database and renames it over `destination`. Consumes the builder.
    public func write(progress: ((String) -> Void)? = nil) throws -> Summary {
        let path = destination
        try rowSpill.close()
        var summary = Summary()
        summary.rows = rowCount

        // Stage 2: unite rows that share a key; write the distinct keys in order.
        progress?("linking \(rowCount) rows by their digests")
        try links.finishInput()  // frees the sort's buffers before the union-find takes its memory
        var forest = UnionFind(count: rowCount)
        let keyStream = try BufferedFileWriter(path: workDirectory + "/keys.spill")
        var keyCounts = [Int](repeating: 0, count: 4)
        var ordinal: UInt32 = 0
        var previous: LinkKey?
        var groupRoot = 0
        try links.forEachSorted { key, _ in
            if let last = previous, last.kind == key.kind, last.value == key.value {
                groupRoot = forest.union(groupRoot, Int(key.row))
            } else {
                if previous != nil {
                    guard ordinal < UInt32.max - 1 else { throw RowRejected(reason: "more than \(UInt32.max - 1) distinct digests") }
                    ordinal += 1
                }
                groupRoot = forest.find(Int(key.row))
                keyCounts[Int(key.kind)] += 1
                try KeyStreamRecord(kind: key.kind, value: key.value, row: key.row).write(to: keyStream)
            }
            forest.lowerCanonical(groupRoot, to: ordinal)
            previous = key
        }
        try keyStream.close()
        let distinctKeys = previous == nil ? 0 : Int(ordinal) + 1

        // Stage 3: entries in the order of their smallest key.
        progress?("ordering entries")
        let entryOfRow = forest.entryNumbers(distinctKeys: distinctKeys)
        let entryCount = entryOfRow.entryCount
        summary.entries = entryCount

        // Stage 4: rows grouped by entry.
        progress?("grouping rows into \(entryCount) entries")
        // The links are done with: the row groups may use most of the memory.
        let grouped = ExternalSorter<UInt64>(directory: workDirectory, name: "groups", memoryBudget: options.memoryBudget / 2)
        do {
            let reader = try BufferedFileReader(path: workDirectory + "/rows.spill", bufferSize: 4 << 20)
            for row in 0..<rowCount {
                let bytes = try SpilledRow.readBytes(from: reader)
                try grouped.add(UInt64(entryOfRow.entries[row]) << 32 | UInt64(row), payload: bytes)
            }
        }
        try? FileManager.default.removeItem(atPath: workDirectory + "/rows.spill")

        // Stage 5: merge each entry's rows.
        progress?("writing entries")
        let finalLabels = labels.sortedMapping()
        let entryWriter = try EntryWriter(
            directory: workDirectory, memoryBudget: options.memoryBudget, rowLabelSets: rowLabelSetList, labelMapping: finalLabels.mapping,
            canonicalKeys: try CanonicalKeyReader(path: workDirectory + "/keys.spill", canonical: entryOfRow.canonicalOrdinals))
        var currentEntry = -1
        var rowsOfEntry: [SpilledRow] = []
        let idArena = ByteBuffer()
        try grouped.forEachSorted { key, payload in
            let entry = Int(key >> 32)
            if entry != currentEntry {
                if currentEntry >= 0 {
                    try entryWriter.write(entry: currentEntry, rows: rowsOfEntry, ids: idArena)
                }
                currentEntry = entry
                rowsOfEntry.removeAll(keepingCapacity: true)
                idArena.removeAll()
            }
            rowsOfEntry.append(try SpilledRow.decode(payload, ids: idArena))
        }
        if currentEntry >= 0 {
            try entryWriter.write(entry: currentEntry, rows: rowsOfEntry, ids: idArena)
        }
        var sections = try entryWriter.finishSections(labelNames: finalLabels.names)
        let pdqSorter = entryWriter.pdqSorter
        let idSorter = entryWriter.idSorter

        // Stage 6: the digest indexes, from the key stream.
        progress?("writing digest indexes")
        sections += try writeDigestIndexes(counts: keyCounts, entryOfRow: entryOfRow)
        for kind in DigestKind.allCases {
            summary.digests[kind] = keyCounts[Int(LinkKey.kindCode(kind))]
        }

        // Stage 7: the PDQ table and the id index, from their sorts.
        progress?("writing the PDQ table and id index")
        let pdqHashes = try BufferedFileWriter(path: workDirectory + "/pdq-hashes.part")
        let pdqRecords = try BufferedFileWriter(path: workDirectory + "/pdq-records.part")
        try pdqSorter.forEachSorted { key, _ in
            try pdqHashes.write(key.hash)
            try pdqRecords.writeLittleEndian(key.entry)
            try pdqRecords.write(value: (key.quality, UInt8(0), UInt16(0)))
        }
        try pdqHashes.close()
        try pdqRecords.close()
        summary.pdqHashes = pdqSorter.count
        var pdqHeader = LittleEndianBytes()
        pdqHeader.int(pdqSorter.count)
        pdqHeader.int(DatabaseFormat.indexHeaderSize)
        pdqHeader.int(DatabaseFormat.indexHeaderSize + (pdqSorter.count * 32 + 63) / 64 * 64)
        pdqHeader.padTo(DatabaseFormat.indexHeaderSize)
        sections.append(SectionContent(kind: .pdqTable, count: pdqSorter.count, pieces: [
            .bytes(pdqHeader.bytes), .file(workDirectory + "/pdq-hashes.part"), .alignTo64, .file(workDirectory + "/pdq-records.part"),
        ]))
        if options.nearIndexTables != 0 {
            progress?("writing the PDQ near index")
            if let index = try NearIndexBuilder.build(hashesFile: workDirectory + "/pdq-hashes.part", count: pdqSorter.count,
                                                       workDirectory: workDirectory, tableCount: options.nearIndexTables) {
                sections.append(index)
            }
        }
        let idIndex = try BufferedFileWriter(path: workDirectory + "/id-index.section")
        try idSorter.forEachSorted { key, _ in
            try idIndex.writeLittleEndian(key.hash)
            try idIndex.writeLittleEndian(key.entry)
            try idIndex.writeLittleEndian(UInt32(0))
        }
        try idIndex.close()
        sections.append(SectionContent(kind: .idIndex, count: idSorter.count, pieces: [.file(workDirectory + "/id-index.section")]))
        let manifest = Array(manifestJSON(summary: summary).utf8)
        sections.append(SectionContent(kind: .manifest, count: manifest.count, pieces: [.bytes(manifest)]))

        progress?("writing \(path)")
        summary.checksum = try DatabaseFileWriter.write(sections: sections, entryCount: entryCount, createdAt: options.createdAt, to: path)
        return summary
    }

    private func writeDigestIndexes(counts: [Int], entryOfRow: EntryNumbering) throws -> [SectionContent] {
        var sections: [SectionContent] = []
        var writers: [DigestIndexWriter] = []
        for kind in DigestKind.allCases {
            writers.append(try DigestIndexWriter(kind: kind, count: counts[Int(LinkKey.kindCode(kind))], directory: workDirectory))
        }
        let reader = try BufferedFileReader(path: workDirectory + "/keys.spill", bufferSize: 4 << 20)
        // Keys come in key order, so their rows' entries are read at random: a batch at a time,
        // in a loop of independent loads the processor can overlap.
        var batch: [KeyStreamRecord] = []
        var entries = [UInt32](repeating: 0, count: 4096)
        batch.reserveCapacity(4096)
        var done = false
        while !done {
            batch.removeAll(keepingCapacity: true)
            while batch.count < 4096 {
                guard let record = try KeyStreamRecord.read(from: reader) else {
                    done = true
                    break
                }
                batch.append(record)
            }
            entryOfRow.entries.withUnsafeBufferPointer { entryOf in
                for index in batch.indices {
                    entries[index] = entryOf[Int(batch[index].row)]
                }
            }
            for (index, record) in batch.enumerated() where record.kind != LinkKey.pdqKind {
                try writers[Int(record.kind)].add(record.value, entry: entries[index])
            }
        }
        for writer in writers {
            sections.append(try writer.finish())
        }
        return sections
    }

    private func manifestJSON(summary: Summary) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("tool", "hashdb")
        json.member("version", HashCoreVersion.current)
        json.member("format", "\(DatabaseFormat.majorVersion).\(DatabaseFormat.minorVersion)")
        json.key("inputs")
        json.beginArray()
        for input in manifestInputs {
            json.beginObject()
            json.member("name", input.name)
            if let sha256 = input.sha256 { json.member("sha256", sha256) }
            json.member("format", input.format)
            json.member("rows", input.rows)
            json.member("rejected", input.rejected)
            json.endObject()
        }
        json.endArray()
        json.key("options")
        json.beginObject()
        for (name, value) in manifestOptions.sorted(by: { $0.key < $1.key }) {
            json.member(name, value)
        }
        json.endObject()
        json.member("rows", summary.rows)
        json.member("entries", summary.entries)
        json.endObject()
        return json.output
    }

    static func poolHeader(count: Int, bytes: Int) -> [UInt8] {
        var header = LittleEndianBytes()
        header.int(count)
        header.int(bytes)
        return header.bytes
    }

    static func stringPoolSection(_ kind: SectionKind, _ strings: [String]) -> SectionContent {
        var offsets = LittleEndianBytes()
        var data: [UInt8] = []
        offsets.u64(0)
        for string in strings {
            data += Array(string.utf8)
            offsets.int(data.count)
        }
        return SectionContent(kind: kind, count: strings.count, pieces: [.bytes(poolHeader(count: strings.count, bytes: data.count)), .bytes(offsets.bytes), .bytes(data)])
    }
}

public enum HashCoreVersion {
    public static let current = "0.1.0"
}

// MARK: - Records

/// A key that links rows: (kind, value), with the row as tie-breaker so sorting is
/// deterministic.
struct LinkKey: ExternalSortKey {
    var value: Bytes32
    var row: UInt32
    var kind: UInt8

    static let pdqKind: UInt8 = 3

    static func kindCode(_ kind: DigestKind) -> UInt8 {
        switch kind {
        case .sha256: 0
        case .sha1: 1
        case .md5: 2
        }
    }

    static func kindName(_ code: UInt8) -> String {
        switch code {
        case 0: "sha256"
        case 1: "sha1"
        case 2: "md5"
        default: "pdq"
        }
    }

    /// Kind in the top 2 bits, then the value's first 62.
    var sortPrefix: UInt64 { UInt64(kind) << 62 | value.w0 >> 2 }

    static func < (lhs: LinkKey, rhs: LinkKey) -> Bool {
        if lhs.kind != rhs.kind { return lhs.kind < rhs.kind }
        if lhs.value != rhs.value { return lhs.value < rhs.value }
        return lhs.row < rhs.row
    }
}

/// A PDQ table row waiting to be sorted.
struct PDQKey: ExternalSortKey {
    var hash: Bytes32
    var entry: UInt32
    var quality: UInt8

    var sortPrefix: UInt64 { hash.w0 }

    static func < (lhs: PDQKey, rhs: PDQKey) -> Bool {
        lhs.hash != rhs.hash ? lhs.hash < rhs.hash : lhs.entry < rhs.entry
    }
}

/// An id index record waiting to be sorted.
struct IDKey: ExternalSortKey {
    var hash: UInt64
    var entry: UInt32

    var sortPrefix: UInt64 { hash }

    static func < (lhs: IDKey, rhs: IDKey) -> Bool {
        lhs.hash != rhs.hash ? lhs.hash < rhs.hash : lhs.entry < rhs.entry
    }
}

extension UInt64: ExternalSortKey {
    public var sortPrefix: UInt64 { self }
}

/// One distinct key, in sorted order, with one of its rows.
struct KeyStreamRecord {
    var kind: UInt8
    var value: Bytes32
    var row: UInt32

    static let size = 37

    func write(to writer: BufferedFileWriter) throws(FileIOError) {
        try writer.write(value: kind)
        try writer.write(value)
        try writer.writeLittleEndian(row)
    }

    static func read(from reader: BufferedFileReader) throws(FileIOError) -> KeyStreamRecord? {
        guard let bytes = try reader.read(size) else { return nil }
        return KeyStreamRecord(kind: bytes[0], value: Bytes32(loadingFrom: bytes.baseAddress! + 1),
                               row: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 33, as: UInt32.self)))
    }
}

/// What the builder keeps of a row until its entry is written.
struct SpilledRow {
    var labelSet: UInt32
    var added: Int64?
    var pdq: PDQHash?
    var quality: Int?
    /// Where the id's bytes are in the arena `decode` was given.
    var id: Range<Int>?

    private static let hasAdded: UInt8 = 1, hasPDQ: UInt8 = 2, hasQuality: UInt8 = 4, hasID: UInt8 = 8

    /// Appends one row as a 4-byte length, then flags, quality, label set, and the optional
    /// added time, PDQ hash and id.
    static func write(labelSet: UInt32, added: Int64?, pdq: PDQHash?, quality: Int?, id: String?, to writer: BufferedFileWriter) throws(FileIOError) {
        var flags: UInt8 = 0
        var length = 6
        if added != nil { flags |= hasAdded; length += 8 }
        if pdq != nil { flags |= hasPDQ; length += 32 }
        if quality != nil { flags |= hasQuality }
        let idLength = id?.utf8.count ?? 0
        if id != nil { flags |= hasID; length += 2 + idLength }
        try writer.writeLittleEndian(UInt32(length))
        try writer.write(value: (flags, UInt8(quality ?? 0)))
        try writer.writeLittleEndian(labelSet)
        if let added { try writer.writeLittleEndian(added) }
        if let pdq { try writer.write(value: (pdq.bits.w0.bigEndian, pdq.bits.w1.bigEndian, pdq.bits.w2.bigEndian, pdq.bits.w3.bigEndian)) }
        if var id {
            try writer.write(value: UInt16(idLength).littleEndian)
            let result = id.withUTF8 { bytes in Result { () throws(FileIOError) in try writer.write(UnsafeRawBufferPointer(bytes)) } }
            try result.get()
        }
    }

    static func readBytes(from reader: BufferedFileReader) throws -> UnsafeRawBufferPointer {
        guard let head = try reader.read(4) else {
            throw FileIOError(path: reader.path, operation: "read (rows end early)", errno: .ioError)
        }
        let length = Int(UInt32(littleEndian: head.loadUnaligned(as: UInt32.self)))
        guard let bytes = try reader.read(length) else {
            throw FileIOError(path: reader.path, operation: "read (row cut short)", errno: .ioError)
        }
        return bytes
    }

    /// Reads a row; its id's bytes are appended to `ids`.
    static func decode(_ bytes: UnsafeRawBufferPointer, ids: ByteBuffer) throws -> SpilledRow {
        let flags = bytes[0]
        var offset = 2
        let labelSet = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        var row = SpilledRow(labelSet: labelSet)
        if flags & hasAdded != 0 {
            row.added = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            offset += 8
        }
        if flags & hasPDQ != 0 {
            row.pdq = PDQHash(bits: Bytes32(loadingFrom: bytes.baseAddress! + offset))
            offset += 32
        }
        if flags & hasQuality != 0 {
            row.quality = Int(bytes[1])
        }
        if flags & hasID != 0 {
            let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
            let start = ids.count
            ids.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
            row.id = start..<ids.count
        }
        return row
    }
}

/// Category and source ids of one row (label ids in the order first seen), sorted.
struct RowLabelSet: Hashable {
    var categories: [UInt32]
    var sources: [UInt32]
}

/// Category and source ids of one entry (final label ids), sorted.
struct EntryLabelSet: Hashable {
    var categories: [UInt32]
    var sources: [UInt32]
}

/// A list of labels compared and hashed by their UTF-8 bytes. (Swift compares strings by
/// canonical equivalence: "é" and "e\u{301}" are equal, and which spelling was stored would
/// depend on which came first.)
struct LabelList: Hashable {
    let labels: [String]

    init(_ labels: [String]) {
        self.labels = labels
    }

    static func == (lhs: LabelList, rhs: LabelList) -> Bool {
        lhs.labels.count == rhs.labels.count && zip(lhs.labels, rhs.labels).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    func hash(into hasher: inout Hasher) {
        for label in labels {
            hasher.combine(label.utf8.count)
            for byte in label.utf8 { hasher.combine(byte) }
        }
    }
}

/// Category and source names, each given an id when first seen (by their UTF-8 bytes); at
/// the end renumbered in byte order, which is what the file stores.
struct LabelInterner {
    private var ids: [[UInt8]: UInt32] = [:]
    private var names: [String] = []

    mutating func ids(_ labels: [String]) -> [UInt32] {
        var result: [UInt32] = []
        for label in labels {
            let bytes = Array(label.utf8)
            if let id = ids[bytes] {
                result.append(id)
            } else {
                let id = UInt32(names.count)
                ids[bytes] = id
                names.append(label)
                result.append(id)
            }
        }
        return Array(Set(result)).sorted()
    }

    /// The names in byte order, and for each first-seen id its position among them.
    func sortedMapping() -> (names: [String], mapping: [UInt32]) {
        let order = names.indices.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        var mapping = [UInt32](repeating: 0, count: names.count)
        for (position, id) in order.enumerated() {
            mapping[id] = UInt32(position)
        }
        return (order.map { names[$0] }, mapping)
    }
}

/// The rows of one entry, merged.
struct MergedEntry {
    var ids: [[UInt8]]
    var categories: [UInt32]
    var sources: [UInt32]
    var added: Int64?
    /// Distinct PDQ hashes with the best known quality of each.
    var pdqs: [(PDQHash, Int?)]

    init(rows: [SpilledRow], ids idBytes: ByteBuffer, labelSets: [RowLabelSet], labelMapping: [UInt32]) {
        var ids = Set<[UInt8]>()
        var categories = Set<UInt32>()
        var sources = Set<UInt32>()
        var added: Int64?
        /// Each distinct hash with the best quality any row gave it (-1: none did).
        var pdqs: [PDQHash: Int] = [:]
        for row in rows {
            if let id = row.id { ids.insert(Array(UnsafeRawBufferPointer(rebasing: idBytes.bytes[id]))) }
            let set = labelSets[Int(row.labelSet)]
            for category in set.categories { categories.insert(labelMapping[Int(category)]) }
            for source in set.sources { sources.insert(labelMapping[Int(source)]) }
            if let time = row.added, time != 0 { added = min(added ?? time, time) }
            if let pdq = row.pdq {
                pdqs[pdq] = max(pdqs[pdq] ?? -1, row.quality ?? -1)
            }
        }
        self.ids = ids.sorted { $0.lexicographicallyPrecedes($1) }
        self.categories = categories.sorted()
        self.sources = sources.sorted()
        self.added = added
        self.pdqs = pdqs.map { ($0.key, $0.value < 0 ? nil : $0.value) }.sorted { $0.0.bits < $1.0.bits }
    }
}

// MARK: - Union-find and entry numbering

/// Rows united by shared keys. Roots are always the smallest row of their set, so every
/// parent pointer points to a smaller row; a root's `canonical` is the smallest key ordinal
/// seen for its set. Parent and canonical sit side by side: one cache miss reaches both.
struct UnionFind {
    private var nodes: [(parent: UInt32, canonical: UInt32)]

    init(count: Int) {
        nodes = (0..<count).map { (UInt32($0), UInt32.max) }
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
        for row in nodes.indices where Int(nodes[row].parent) == row {
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
        let entries = nodes.map { rank(Int(nodes[Int($0.parent)].canonical)) }
        return EntryNumbering(entries: entries, entryCount: Int(running), canonicalOrdinals: CanonicalOrdinals(bits: isCanonical))
    }
}

/// Each row's entry number.
struct EntryNumbering {
    let entries: [UInt32]
    let entryCount: Int
    let canonicalOrdinals: CanonicalOrdinals
}

/// The key ordinals that are some entry's smallest key, in order: entry e's is the e-th.
struct CanonicalOrdinals {
    let bits: [UInt64]
}

/// Walks the key stream alongside the entries (both in key order) to name entries that have
/// no id by their smallest key, as "sha256:<hex>".
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
                guard word < bits.count else { throw InputError(file: "(build)", reason: "entry numbering is inconsistent") }
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
        guard let current else { throw InputError(file: "(build)", reason: "key stream ended early") }
        let width = current.kind == LinkKey.pdqKind ? 32 : DigestKind.allCases[Int(current.kind)].byteCount
        return LinkKey.kindName(current.kind) + ":" + Hex.encode(current.value, byteCount: width)
    }
}

/// Writes one digest index section from keys arriving in sorted order.
final class DigestIndexWriter {
    let kind: DigestKind
    let count: Int
    let prefixBits: Int
    private var directory: [UInt32]
    private var nextBucket = 0
    private var written = 0
    private let keys: BufferedFileWriter
    private let entries: BufferedFileWriter

    init(kind: DigestKind, count: Int, directory workDirectory: String) throws(FileIOError) {
        self.kind = kind
        self.count = count
        prefixBits = DatabaseFormat.prefixBits(forKeyCount: count)
        directory = [UInt32](repeating: 0, count: (1 << prefixBits) + 1)
        keys = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-keys.part")
        entries = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-entries.part")
    }

    func add(_ key: Bytes32, entry: UInt32) throws(FileIOError) {
        let bucket = prefixBits == 0 ? 0 : Int(key.w0 >> UInt64(64 - prefixBits))
        while nextBucket <= bucket {
            directory[nextBucket] = UInt32(written)
            nextBucket += 1
        }
        try keys.write(key, count: kind.byteCount)
        try entries.writeLittleEndian(entry)
        written += 1
    }

    func finish() throws(FileIOError) -> SectionContent {
        while nextBucket < directory.count {
            directory[nextBucket] = UInt32(written)
            nextBucket += 1
        }
        try keys.close()
        try entries.close()
        var header = LittleEndianBytes()
        let directoryBytes = directory.count * 4
        let keysOffset = (DatabaseFormat.indexHeaderSize + directoryBytes + 63) / 64 * 64
        let entriesOffset = (keysOffset + written * kind.byteCount + 63) / 64 * 64
        header.u32(UInt32(kind.byteCount))
        header.u32(UInt32(prefixBits))
        header.int(written)
        header.int(DatabaseFormat.indexHeaderSize)
        header.int(keysOffset)
        header.int(entriesOffset)
        header.padTo(DatabaseFormat.indexHeaderSize)
        var directoryData = LittleEndianBytes()
        for value in directory { directoryData.u32(value) }
        return SectionContent(kind: SectionKind.index(for: kind), count: written, pieces: [
            .bytes(header.bytes), .bytes(directoryData.bytes), .alignTo64, .file(keys.path), .alignTo64, .file(entries.path),
        ])
    }
}

/// Stage 5 of a build: writes entries, their ids and label sets, and queues their PDQ hashes
/// and id hashes for sorting.
final class EntryWriter {
    private let rowLabelSets: [RowLabelSet]
    private let labelMapping: [UInt32]
    private let canonicalKeys: CanonicalKeyReader
    private let entries: BufferedFileWriter
    private let idOffsets: BufferedFileWriter
    private let idData: BufferedFileWriter
    let pdqSorter: ExternalSorter<PDQKey>
    let idSorter: ExternalSorter<IDKey>
    private var labelSetWords: [UInt32] = []
    private var labelSetOffsets: [EntryLabelSet: UInt32] = [:]
    /// For an entry of one row, its label set is that row's: resolved once per row label set.
    private var offsetOfRowLabelSet: [UInt32?]
    private var entryCount = 0
    private var idCount = 0

    init(directory: String, memoryBudget: Int, rowLabelSets: [RowLabelSet], labelMapping: [UInt32], canonicalKeys: CanonicalKeyReader) throws {
        self.rowLabelSets = rowLabelSets
        self.labelMapping = labelMapping
        self.canonicalKeys = canonicalKeys
        entries = try BufferedFileWriter(path: directory + "/entries.section")
        idOffsets = try BufferedFileWriter(path: directory + "/id-offsets.part")
        idData = try BufferedFileWriter(path: directory + "/id-data.part")
        // These fill while the row groups (half the budget) are read.
        pdqSorter = ExternalSorter(directory: directory, name: "pdq", memoryBudget: memoryBudget / 4)
        idSorter = ExternalSorter(directory: directory, name: "ids", memoryBudget: memoryBudget / 4)
        offsetOfRowLabelSet = Array(repeating: nil, count: rowLabelSets.count)
        try idOffsets.writeLittleEndian(UInt64(0))
    }

    /// Writes entry `entry` (entries come in order) from its rows, whose ids are in `ids`.
    func write(entry: Int, rows: [SpilledRow], ids: ByteBuffer) throws {
        precondition(entry == entryCount, "entries are written in order")
        entryCount += 1
        let firstID = idCount
        if rows.count == 1 {
            // Most entries come from one row: nothing to merge.
            let row = rows[0]
            if let id = row.id {
                try addID(UnsafeRawBufferPointer(rebasing: ids.bytes[id]), entry: entry)
            } else {
                try addID(Array(try canonicalKeys.key(forEntry: entry).utf8), entry: entry)
            }
            if let pdq = row.pdq {
                try pdqSorter.add(PDQKey(hash: pdq.bits, entry: UInt32(entry), quality: row.quality.map(UInt8.init) ?? DatabaseFormat.unknownQuality))
            }
            try writeRecord(added: row.added == 0 ? nil : row.added, firstID: firstID, labelOffset: labelSetOffset(forRowSet: Int(row.labelSet)))
            return
        }
        let merged = MergedEntry(rows: rows, ids: ids, labelSets: rowLabelSets, labelMapping: labelMapping)
        if merged.ids.isEmpty {
            try addID(Array(try canonicalKeys.key(forEntry: entry).utf8), entry: entry)
        }
        for id in merged.ids {
            try addID(id, entry: entry)
        }
        for (hash, quality) in merged.pdqs {
            try pdqSorter.add(PDQKey(hash: hash.bits, entry: UInt32(entry), quality: quality.map(UInt8.init) ?? DatabaseFormat.unknownQuality))
        }
        try writeRecord(added: merged.added, firstID: firstID,
                        labelOffset: labelSetOffset(EntryLabelSet(categories: merged.categories, sources: merged.sources)))
    }

    private func writeRecord(added: Int64?, firstID: Int, labelOffset: UInt32) throws(FileIOError) {
        try entries.writeLittleEndian(added ?? 0)
        try entries.writeLittleEndian(UInt32(firstID))
        try entries.writeLittleEndian(UInt32(idCount - firstID))
        try entries.writeLittleEndian(labelOffset)
        try entries.writeLittleEndian(UInt32(0))
    }

    private func addID(_ id: UnsafeRawBufferPointer, entry: Int) throws {
        try idData.write(id)
        try idOffsets.writeLittleEndian(UInt64(idData.size))
        try idSorter.add(IDKey(hash: DatabaseFormat.idHash(id), entry: UInt32(entry)))
        idCount += 1
    }

    private func addID(_ id: [UInt8], entry: Int) throws {
        try id.withUnsafeBytes { try addID($0, entry: entry) }
    }

    private func labelSetOffset(forRowSet rowSet: Int) -> UInt32 {
        if let known = offsetOfRowLabelSet[rowSet] { return known }
        let set = rowLabelSets[rowSet]
        let offset = labelSetOffset(EntryLabelSet(categories: set.categories.map { labelMapping[Int($0)] }.sorted(),
                                                  sources: set.sources.map { labelMapping[Int($0)] }.sorted()))
        offsetOfRowLabelSet[rowSet] = offset
        return offset
    }

    private func labelSetOffset(_ set: EntryLabelSet) -> UInt32 {
        if let known = labelSetOffsets[set] { return known }
        let offset = UInt32(labelSetWords.count)
        labelSetOffsets[set] = offset
        labelSetWords += [UInt32(set.categories.count), UInt32(set.sources.count)] + set.categories + set.sources
        return offset
    }

    /// Closes the files; returns the entries, id strings, label strings and label sets sections.
    func finishSections(labelNames: [String]) throws -> [SectionContent] {
        try entries.close()
        try idOffsets.close()
        try idData.close()
        var labelSetBytes = LittleEndianBytes()
        for word in labelSetWords { labelSetBytes.u32(word) }
        return [
            SectionContent(kind: .entries, count: entryCount, pieces: [.file(entries.path)]),
            SectionContent(kind: .idStrings, count: idCount, pieces: [
                .bytes(DatabaseBuilder.poolHeader(count: idCount, bytes: idData.size)), .file(idOffsets.path), .file(idData.path),
            ]),
            DatabaseBuilder.stringPoolSection(.labelStrings, labelNames),
            SectionContent(kind: .labelSets, count: labelSetWords.count, pieces: [.bytes(labelSetBytes.bytes)]),
        ]
    }
}
