import CShims
import Foundation

/// Where a long build or merge is: the stage under way and, when it can be counted, how far
/// along (a terminal shows it as a bar).
public struct BuildProgress: Sendable, Equatable {
    public var stage: String
    public var done: Int
    public var total: Int?

    public init(stage: String, done: Int = 0, total: Int? = nil) {
        self.stage = stage
        self.done = done
        self.total = total
    }

    /// Whether `index` is a good moment to report (every 2^20 items).
    @inline(__always) static func due(_ index: Int) -> Bool { index & 0xFFFFF == 0 }
}

/// The parts a build and a merge share: records sorted on the way, the union-find that
/// makes entries, and the writers of each section.

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

/// A key's kind and value, for matching tombstones against the sorted keys.
struct SortableKeyValue: Hashable, Comparable {
    var kind: UInt8
    var value: Bytes32

    static func < (lhs: SortableKeyValue, rhs: SortableKeyValue) -> Bool {
        lhs.kind != rhs.kind ? lhs.kind < rhs.kind : lhs.value < rhs.value
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

    /// The label set of a row as `readBytes` returns it.
    static func labelSet(in bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
    }

    /// The id of a row as `readBytes` returns it, without decoding the rest.
    static func id(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let flags = bytes[0]
        guard flags & hasID != 0 else { return nil }
        var offset = 6
        if flags & hasAdded != 0 { offset += 8 }
        if flags & hasPDQ != 0 { offset += 32 }
        let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        return UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<(offset + 2 + length)])
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
        guard lhs.labels.count == rhs.labels.count else { return false }
        // Readers hand out one array per distinct field value: most lists compared share storage.
        let shared = lhs.labels.withUnsafeBufferPointer { left in
            rhs.labels.withUnsafeBufferPointer { right in left.baseAddress == right.baseAddress }
        }
        return shared || zip(lhs.labels, rhs.labels).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
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

    /// The names in `keeping` (first-seen ids) in byte order, and for each first-seen id its
    /// position among them.
    func sortedMapping(keeping: Set<UInt32>) -> (names: [String], mapping: [UInt32]) {
        let order = names.indices.filter { keeping.contains(UInt32($0)) }.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        var mapping = [UInt32](repeating: .max, count: names.count)
        for (position, id) in order.enumerated() {
            mapping[id] = UInt32(position)
        }
        return (order.map { names[$0] }, mapping)
    }
}

/// The rows of one entry, merged into reused buffers (an entry has a few rows: small arrays
/// sorted and deduplicated beat sets and dictionaries, and reusing them saves allocations).
struct RowMerger {
    /// Ranges of the id arena, sorted by their bytes, without repeats.
    private(set) var ids: [Range<Int>] = []
    private(set) var categories: [UInt32] = []
    private(set) var sources: [UInt32] = []
    private(set) var added: Int64?
    /// Distinct PDQ hashes with the best known quality of each (-1: unknown).
    private(set) var pdqs: [(hash: PDQHash, quality: Int)] = []

    mutating func merge(_ rows: [SpilledRow], ids idBytes: ByteBuffer, labelSets: [RowLabelSet], labelMapping: [UInt32]) {
        ids.removeAll(keepingCapacity: true)
        categories.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
        pdqs.removeAll(keepingCapacity: true)
        added = nil
        for row in rows {
            if let id = row.id { ids.append(id) }
            let set = labelSets[Int(row.labelSet)]
            for category in set.categories { categories.append(labelMapping[Int(category)]) }
            for source in set.sources { sources.append(labelMapping[Int(source)]) }
            if let time = row.added, time != 0 { added = min(added ?? time, time) }
            if let pdq = row.pdq { pdqs.append((pdq, row.quality ?? -1)) }
        }
        let bytes = idBytes.bytes
        func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
        ids.sort { slice($0).lexicographicallyPrecedes(slice($1)) }
        Self.removeAdjacentRepeats(&ids) { slice($0).elementsEqual(slice($1)) }
        categories.sort()
        Self.removeAdjacentRepeats(&categories, ==)
        sources.sort()
        Self.removeAdjacentRepeats(&sources, ==)
        // Best quality first among equal hashes, so the first of each run is kept.
        pdqs.sort { $0.hash.bits != $1.hash.bits ? $0.hash.bits < $1.hash.bits : $0.quality > $1.quality }
        Self.removeAdjacentRepeats(&pdqs) { $0.hash == $1.hash }
    }

    private static func removeAdjacentRepeats<T>(_ values: inout [T], _ same: (T, T) -> Bool) {
        guard values.count > 1 else { return }
        var kept = 1
        for index in 1..<values.count where !same(values[kept - 1], values[index]) {
            values[kept] = values[index]
            kept += 1
        }
        values.removeLast(values.count - kept)
    }
}

// MARK: - Union-find and entry numbering

/// A first-in first-out window of fixed length over a stream: `push` returns the element that
/// entered `length` pushes earlier, so work on an element can start (a prefetch) that long
/// before it is used; `pop` drains the rest in order.
struct LookaheadWindow<Element> {
    private var elements: [Element] = []
    private var oldest = 0
    private let length: Int

    init(length: Int) {
        precondition(length > 0)
        self.length = length
        elements.reserveCapacity(length)
    }

    mutating func push(_ element: Element) -> Element? {
        guard elements.count == length else {
            elements.append(element)
            return nil
        }
        let due = elements[oldest]
        elements[oldest] = element
        oldest = (oldest + 1) % length
        return due
    }

    mutating func pop() -> Element? {
        guard !elements.isEmpty else { return nil }
        // Once not full, `elements` is drained from `oldest`, wrapping around.
        let index = oldest % elements.count
        let due = elements.remove(at: index)
        oldest = elements.isEmpty ? 0 : index % elements.count
        return due
    }
}

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
    /// Distinct keys of each kind (SHA-256, SHA-1, MD5, PDQ).
    private(set) var keyCounts = [Int](repeating: 0, count: 4)
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
    /// Stage 6: the three digest indexes, from the key stream (keys in order, each with a row)
    /// and each row's entry.
    static func writeAll(keyStreamPath: String, counts: [Int], entryOfRow: EntryNumbering, directory: String) throws -> [SectionContent] {
        // (The sections are made from parts: how many keys survive removals is known only
        // once they are written.)
        var writers: [DigestIndexWriter] = []
        for kind in DigestKind.allCases {
            writers.append(try DigestIndexWriter(kind: kind, count: counts[Int(LinkKey.kindCode(kind))], directory: directory))
        }
        let reader = try BufferedFileReader(path: keyStreamPath, bufferSize: 4 << 20)
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
            for (index, record) in batch.enumerated() where record.kind < LinkKey.pdqKind && entries[index] != EntryNumbering.removed {
                try writers[Int(record.kind)].add(record.value, entry: entries[index])
            }
        }
        return try writers.map { try $0.finish() }
    }

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
        keys = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-keys.part", writeBehind: true)
        entries = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-entries.part", writeBehind: true)
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
    private let output: DatabaseOutput
    private let expectedEntries: Int
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
    private var lastLabelSet: (set: EntryLabelSet, offset: UInt32)?
    private var merger = RowMerger()
    /// For an entry of one row, its label set is that row's: resolved once per row label set.
    private var offsetOfRowLabelSet: [UInt32?]
    private var entryCount = 0
    private var idCount = 0

    /// `pdqMemory` and `idMemory` are the budgets of the PDQ and id sorts (a merge, which
    /// gathers PDQ hashes otherwise, gives the ids all of it).
    /// The entries section (`entryCount` records) is placed in `output` at once; the others
    /// are gathered in `directory` and placed by `finishSections`.
    init(directory: String, output: DatabaseOutput, entryCount: Int, pdqMemory: Int, idMemory: Int, rowLabelSets: [RowLabelSet],
         labelMapping: [UInt32], canonicalKeys: CanonicalKeyReader) throws {
        self.rowLabelSets = rowLabelSets
        self.labelMapping = labelMapping
        self.canonicalKeys = canonicalKeys
        self.output = output
        expectedEntries = entryCount
        entries = output.writer(at: output.reserve(.entries, count: entryCount, length: entryCount * DatabaseFormat.entryRecordSize),
                                bufferSize: 4 << 20)
        idOffsets = try BufferedFileWriter(path: directory + "/id-offsets.part", writeBehind: true)
        idData = try BufferedFileWriter(path: directory + "/id-data.part", writeBehind: true)
        pdqSorter = ExternalSorter(directory: directory, name: "pdq", memoryBudget: pdqMemory)
        idSorter = ExternalSorter(directory: directory, name: "ids", memoryBudget: idMemory)
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
            try writeRecord(added: row.added == 0 ? nil : row.added, firstID: firstID, labelOffset: labelSetOffset(forRowSet: Int(row.labelSet)),
                            generatedID: row.id == nil)
            return
        }
        merger.merge(rows, ids: ids, labelSets: rowLabelSets, labelMapping: labelMapping)
        if merger.ids.isEmpty {
            try addID(Array(try canonicalKeys.key(forEntry: entry).utf8), entry: entry)
        }
        for id in merger.ids {
            try addID(UnsafeRawBufferPointer(rebasing: ids.bytes[id]), entry: entry)
        }
        for (hash, quality) in merger.pdqs {
            try pdqSorter.add(PDQKey(hash: hash.bits, entry: UInt32(entry), quality: quality < 0 ? DatabaseFormat.unknownQuality : UInt8(quality)))
        }
        try writeRecord(added: merger.added, firstID: firstID, labelOffset: labelSetOffset(categories: merger.categories, sources: merger.sources),
                        generatedID: merger.ids.isEmpty)
    }

    private func writeRecord(added: Int64?, firstID: Int, labelOffset: UInt32, generatedID: Bool) throws(FileIOError) {
        try entries.writeLittleEndian(added ?? 0)
        try entries.writeLittleEndian(UInt32(firstID))
        try entries.writeLittleEndian(UInt32(idCount - firstID))
        try entries.writeLittleEndian(labelOffset)
        try entries.writeLittleEndian(generatedID ? DatabaseFormat.generatedIDFlag : 0)
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

    private func labelSetOffset(categories: [UInt32], sources: [UInt32]) -> UInt32 {
        // Consecutive entries often share their labels: the last answer is checked first.
        if let last = lastLabelSet, last.set.categories == categories, last.set.sources == sources { return last.offset }
        let offset = labelSetOffset(EntryLabelSet(categories: categories, sources: sources))
        lastLabelSet = (EntryLabelSet(categories: categories, sources: sources), offset)
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
    /// Closes the entries and places the id strings, label strings and label sets.
    func finishSections(labelNames: [String]) throws {
        guard entryCount == expectedEntries else {
            throw InputError(file: output.destination, reason: "wrote \(entryCount) entries of \(expectedEntries)")
        }
        try entries.close()
        try idOffsets.close()
        try idData.close()
        // The sorts' buffers go before the index stage, which reads them, allocates its own.
        try pdqSorter.finishInput()
        try idSorter.finishInput()
        var labelSetBytes = LittleEndianBytes()
        for word in labelSetWords { labelSetBytes.u32(word) }
        try output.place(SectionContent(kind: .idStrings, count: idCount, pieces: [
            .bytes(DatabaseBuilder.poolHeader(count: idCount, bytes: idData.size)), .file(idOffsets.path), .file(idData.path),
        ]))
        try output.place(DatabaseBuilder.stringPoolSection(.labelStrings, labelNames))
        try output.place(SectionContent(kind: .labelSets, count: labelSetWords.count, pieces: [.bytes(labelSetBytes.bytes)]))
    }
}

/// Stage 7: the PDQ table (section 32) from rows arriving in (hash, entry) order, and the
/// near-match index over it (section 33).
final class PDQTableWriter {
    private let directory: String
    private let hashes: BufferedFileWriter
    private let records: BufferedFileWriter
    private(set) var count = 0

    init(directory: String) throws(FileIOError) {
        self.directory = directory
        hashes = try BufferedFileWriter(path: directory + "/pdq-hashes.part", writeBehind: true)
        records = try BufferedFileWriter(path: directory + "/pdq-records.part", writeBehind: true)
    }

    func add(hash: Bytes32, entry: UInt32, quality: UInt8) throws(FileIOError) {
        try hashes.write(hash)
        try records.writeLittleEndian(entry)
        try records.write(value: (quality, UInt8(0), UInt16(0)))
        count += 1
    }

    /// The near index's share of a build's or merge's memory budget. The other thread of the
    /// index stage only merges runs (small read buffers): the sort buffers are free by then
    /// (`EntryWriter.finishSections`).
    static func nearIndexMemory(_ budget: Int) -> Int { budget * 3 / 4 }

    /// Places the table, and the index unless `nearIndexTables` is 0 (or there are too few
    /// hashes to need one).
    func finish(into output: DatabaseOutput, nearIndexTables: Int?, memoryBudget: Int) throws {
        try hashes.close()
        try records.close()
        var header = LittleEndianBytes()
        header.int(count)
        header.int(DatabaseFormat.indexHeaderSize)
        header.int(DatabaseFormat.indexHeaderSize + (count * 32 + 63) / 64 * 64)
        header.padTo(DatabaseFormat.indexHeaderSize)
        let copyTable = try output.reservePlacement(SectionContent(kind: .pdqTable, count: count, pieces: [
            .bytes(header.bytes), .file(hashes.path), .alignTo64, .file(records.path),
        ]))
        guard nearIndexTables != 0 else { return try copyTable() }
        // The kernel copies the table while the index is built from the same hashes.
        let hashesPath = hashes.path
        let count = count
        _ = try inParallel(copyTable, {
            try NearIndexBuilder.build(hashesFile: hashesPath, count: count, into: output, tableCount: nearIndexTables, memoryBudget: memoryBudget)
        })
    }
}

extension IDKey {
    /// A writer for section 5, reserved in `output` for `count` records.
    static func indexWriter(count: Int, in output: DatabaseOutput) -> BufferedFileWriter {
        output.writer(at: output.reserve(.idIndex, count: count, length: count * DatabaseFormat.idIndexRecordSize), bufferSize: 4 << 20)
    }

    /// Section 5 from the sorted id hashes, through a writer from `indexWriter`.
    static func writeIndex(from sorter: ExternalSorter<IDKey>, to index: BufferedFileWriter) throws {
        try sorter.forEachSorted { key, _ in
            try index.writeLittleEndian(key.hash)
            try index.writeLittleEndian(key.entry)
            try index.writeLittleEndian(UInt32(0))
        }
        try index.close()
    }
}
