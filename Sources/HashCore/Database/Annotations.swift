/// What a database remembers besides its entries: removals (tombstones), so that a rebuild
/// with an old list cannot bring a removed entry back, and allowlists of known-benign hashes,
/// which suppress matches (docs/FORMAT.md, sections 6, 64 and 65).

/// A value a tombstone or an allowlist names.
public enum AnnotatedValue: Hashable, Sendable, Comparable {
    case digest(Digest)
    case pdq(PDQHash)
    /// An entry id (tombstones only).
    case id(String)

    /// Kind codes as the file stores them: 0 SHA-256, 1 SHA-1, 2 MD5, 3 PDQ, 4 id.
    var kindCode: UInt8 {
        switch self {
        case .digest(let digest): LinkKey.kindCode(digest.kind)
        case .pdq: LinkKey.pdqKind
        case .id: AnnotationRecord.idKind
        }
    }

    /// The 32 bytes stored: a digest's or PDQ hash's bytes; for an id, its FNV-1a hash.
    var storedValue: Bytes32 {
        switch self {
        case .digest(let digest): digest.value
        case .pdq(let hash): hash.bits
        case .id(let id): Bytes32(w0: DatabaseFormat.idHash(id.utf8), w1: 0, w2: 0, w3: 0)
        }
    }

    public var kindName: String {
        switch self {
        case .digest(let digest): digest.kind.rawValue
        case .pdq: "pdq"
        case .id: "id"
        }
    }

    public var text: String {
        switch self {
        case .digest(let digest): digest.hex
        case .pdq(let hash): hash.hex
        case .id(let id): id
        }
    }

    public static func < (lhs: AnnotatedValue, rhs: AnnotatedValue) -> Bool {
        if lhs.kindCode != rhs.kindCode { return lhs.kindCode < rhs.kindCode }
        if lhs.storedValue != rhs.storedValue { return lhs.storedValue < rhs.storedValue }
        return lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8)
    }
}

/// A removal: entries with this digest or id, or PDQ-only entries with this PDQ hash, are
/// left out of every database built from one that carries it.
public struct Tombstone: Hashable, Sendable, Comparable {
    public var value: AnnotatedValue
    public var reason: String
    /// Who asked for the removal (the removal list's name).
    public var source: String

    public init(value: AnnotatedValue, reason: String, source: String) {
        self.value = value
        self.reason = reason
        self.source = source
    }

    public static func < (lhs: Tombstone, rhs: Tombstone) -> Bool {
        AnnotationRecord.precedes((lhs.value, lhs.source, 0, lhs.reason), (rhs.value, rhs.source, 0, rhs.reason))
    }
}

/// A known-benign hash: a query with this digest matches nothing; a query whose PDQ hash is
/// within `radius` of this PDQ hash gets no near matches.
public struct AllowEntry: Hashable, Sendable, Comparable {
    public var value: AnnotatedValue
    /// For PDQ hashes: how near counts as the same image (0...`PDQ.maximumAllowRadius`).
    public var radius: Int
    public var reason: String
    /// The allowlist's name.
    public var source: String

    public init(value: AnnotatedValue, radius: Int = 0, reason: String, source: String) {
        self.value = value
        self.radius = radius
        self.reason = reason
        self.source = source
    }

    public static func < (lhs: AllowEntry, rhs: AllowEntry) -> Bool {
        AnnotationRecord.precedes((lhs.value, lhs.source, lhs.radius, lhs.reason), (rhs.value, rhs.source, rhs.radius, rhs.reason))
    }
}

/// The 48-byte record of sections 64 and 65: kind, radius, three indexes into the annotation
/// strings (reason, source, id), and the 32-byte value.
enum AnnotationRecord {
    static let size = 48
    static let idKind: UInt8 = 4
    static let noText: UInt32 = .max

    /// The order of records in a section: value (kind, stored bytes, then id text), source,
    /// radius, reason; texts compared as bytes.
    static func precedes(_ lhs: (AnnotatedValue, String, Int, String), _ rhs: (AnnotatedValue, String, Int, String)) -> Bool {
        if lhs.0 != rhs.0 { return lhs.0 < rhs.0 }
        if lhs.1 != rhs.1 { return lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8) }
        if lhs.2 != rhs.2 { return lhs.2 < rhs.2 }
        return lhs.3.utf8.lexicographicallyPrecedes(rhs.3.utf8)
    }

    static func encode(kind: UInt8, radius: UInt8, reason: UInt32, source: UInt32, idText: UInt32, value: Bytes32) -> [UInt8] {
        var bytes = LittleEndianBytes()
        bytes.raw([kind, radius, 0, 0])
        bytes.u32(reason)
        bytes.u32(source)
        bytes.u32(idText)
        bytes.raw(value.bytes())
        return bytes.bytes
    }
}

/// Section 64 or 65 as mapped: records sorted by value, read and searched in place (an
/// allowlist may hold millions of hashes, so nothing is decoded at open).
struct AnnotationTable: Sendable {
    let records: RawView
    let count: Int
    let texts: StringPool?
    /// Records of kind 3 (PDQ hashes) are `pdqRange`: near matches are tested against these.
    let pdqRange: Range<Int>

    static let empty = AnnotationTable()

    private init() {
        records = RawView.empty
        count = 0
        texts = nil
        pdqRange = 0..<0
    }

    init(_ section: RawView, expectedCount: Int, texts: StringPool?) throws(SectionError) {
        guard checkedProduct(expectedCount, AnnotationRecord.size) == section.count else {
            throw SectionError("\(section.count) bytes for \(expectedCount) records of \(AnnotationRecord.size)")
        }
        guard expectedCount == 0 || texts != nil else { throw SectionError("no annotation strings section") }
        records = section
        count = expectedCount
        self.texts = texts
        func firstRecord(ofKindAtLeast kind: UInt8, count: Int) -> Int {
            var low = 0
            var high = count
            while low < high {
                let middle = (low + high) / 2
                if section.u8(middle * AnnotationRecord.size) < kind { low = middle + 1 } else { high = middle }
            }
            return low
        }
        pdqRange = firstRecord(ofKindAtLeast: LinkKey.pdqKind, count: expectedCount)..<firstRecord(ofKindAtLeast: LinkKey.pdqKind + 1, count: expectedCount)
    }

    func kind(_ index: Int) -> UInt8 { records.u8(index * AnnotationRecord.size) }
    func radius(_ index: Int) -> Int { Int(records.u8(index * AnnotationRecord.size + 1)) }
    func storedValue(_ index: Int) -> Bytes32 { records.bytes32(index * AnnotationRecord.size + 16) }

    /// The records whose kind and stored value are these (adjacent, as records are sorted).
    func range(kind wanted: UInt8, value: Bytes32) -> Range<Int> {
        func before(_ index: Int) -> Bool {
            let stored = kind(index)
            return stored != wanted ? stored < wanted : storedValue(index) < value
        }
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if before(middle) { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < count && kind(end) == wanted && storedValue(end) == value { end += 1 }
        return low..<end
    }

    /// Record `index` in full, every reference checked.
    func decode(_ index: Int) throws(SectionError) -> (value: AnnotatedValue, radius: Int, reason: String, source: String) {
        let offset = index * AnnotationRecord.size
        func text(_ field: Int) throws(SectionError) -> String {
            let reference = records.u32(offset + field)
            guard let texts, let value = texts.string(Int(reference)) else { throw SectionError("record \(index) refers to missing text \(reference)") }
            return value
        }
        let stored = storedValue(index)
        let value: AnnotatedValue
        switch kind(index) {
        case 0, 1, 2:
            let digestKind = DigestKind.allCases[Int(kind(index))]
            value = .digest(Digest(kind: digestKind, value: Bytes32(bytes: stored.bytes(count: digestKind.byteCount))))
        case LinkKey.pdqKind: value = .pdq(PDQHash(bits: stored))
        case AnnotationRecord.idKind: value = .id(try text(12))
        case let other: throw SectionError("record \(index) has kind \(other)")
        }
        return (value, radius(index), try text(4), try text(8))
    }
}

extension HashDatabase {
    public var tombstoneCount: Int { tombstoneTable.count }
    public var allowlistCount: Int { allowTable.count }

    /// Every removal this database carries forward, in file order.
    public func tombstones() throws(DatabaseError) -> [Tombstone] {
        var result: [Tombstone] = []
        for index in 0..<tombstoneTable.count {
            let record = try decode(tombstoneTable, index, name: "tombstones")
            result.append(Tombstone(value: record.value, reason: record.reason, source: record.source))
        }
        return result
    }

    /// Calls `body` with every allowlist entry, in file order (there may be millions).
    public func forEachAllowEntry(_ body: (AllowEntry) throws -> Void) throws {
        for index in 0..<allowTable.count {
            let record = try decode(allowTable, index, name: "allowlist")
            try body(AllowEntry(value: record.value, radius: record.radius, reason: record.reason, source: record.source))
        }
    }

    /// The allowlist entries naming `digest`.
    public func allowEntries(for digest: Digest) throws(DatabaseError) -> [AllowEntry] {
        var result: [AllowEntry] = []
        for index in allowTable.range(kind: LinkKey.kindCode(digest.kind), value: digest.value) {
            let record = try decode(allowTable, index, name: "allowlist")
            result.append(AllowEntry(value: record.value, radius: record.radius, reason: record.reason, source: record.source))
        }
        return result
    }

    /// The allowlist PDQ hashes within their radius of `hash`, each with its distance.
    public func allowEntries(near hash: PDQHash) throws(DatabaseError) -> [(entry: AllowEntry, distance: Int)] {
        var result: [(AllowEntry, Int)] = []
        for index in allowTable.pdqRange {
            let distance = PDQHash(bits: allowTable.storedValue(index)).distance(to: hash)
            guard distance <= allowTable.radius(index) else { continue }
            let record = try decode(allowTable, index, name: "allowlist")
            result.append((AllowEntry(value: record.value, radius: record.radius, reason: record.reason, source: record.source), distance))
        }
        return result
    }

    /// How many entries carry a digest the allowlist names (their matches are suppressed: a
    /// conflict between lists an operator wants to see).
    public func allowlistedEntryCount() -> Int {
        var entries = Set<Int>()
        for index in 0..<allowTable.count where allowTable.kind(index) < LinkKey.pdqKind {
            let kind = DigestKind.allCases[Int(allowTable.kind(index))]
            if let entry = self.index(kind).lookup(allowTable.storedValue(index)) { entries.insert(entry) }
        }
        return entries.count
    }

    /// The tombstones naming `value` (a digest, PDQ hash or id).
    public func tombstones(for value: AnnotatedValue) throws(DatabaseError) -> [Tombstone] {
        var result: [Tombstone] = []
        for index in tombstoneTable.range(kind: value.kindCode, value: value.storedValue) {
            let record = try decode(tombstoneTable, index, name: "tombstones")
            if record.value == value { result.append(Tombstone(value: record.value, reason: record.reason, source: record.source)) }
        }
        return result
    }

    private func decode(_ table: AnnotationTable, _ index: Int, name: String) throws(DatabaseError)
        -> (value: AnnotatedValue, radius: Int, reason: String, source: String) {
        do {
            return try table.decode(index)
        } catch {
            throw .corrupt(path: path, detail: "\(name): \(error.detail)")
        }
    }
}

/// Writes sections 6, 64 and 65. Tombstones are few and kept in memory (the linking stage
/// needs them anyway); allowlist entries may be millions (a software hash set) and go through
/// an external sort of fixed-size records, with their texts interned.
final class AnnotationWriter {
    private var tombstones = Set<Tombstone>()
    private let allows: ExternalSorter<AllowSortKey>
    private var texts: [[UInt8]: UInt32] = [:]
    private var textList: [String] = []
    private var allowSequence: UInt32 = 0

    /// An allowlist record waiting to be sorted: by value, then the order added (ties are
    /// put in text order when written).
    struct AllowSortKey: ExternalSortKey {
        var kind: UInt8
        var radius: UInt8
        var value: Bytes32
        var reason: UInt32
        var source: UInt32
        var sequence: UInt32

        var sortPrefix: UInt64 { UInt64(kind) << 61 | value.w0 >> 3 }

        static func < (lhs: AllowSortKey, rhs: AllowSortKey) -> Bool {
            if lhs.kind != rhs.kind { return lhs.kind < rhs.kind }
            if lhs.value != rhs.value { return lhs.value < rhs.value }
            return lhs.sequence < rhs.sequence
        }
    }

    init(directory: String, memoryBudget: Int) {
        allows = ExternalSorter(directory: directory, name: "allowlist", memoryBudget: memoryBudget)
    }

    var allTombstones: [Tombstone] { tombstones.sorted() }
    var allowCount: Int { allows.count }

    func add(_ tombstone: Tombstone) {
        tombstones.insert(tombstone)
    }

    func add(_ allow: AllowEntry) throws {
        guard case .id = allow.value else {
            try allows.add(AllowSortKey(kind: allow.value.kindCode, radius: UInt8(clamping: allow.radius), value: allow.value.storedValue,
                                        reason: intern(allow.reason), source: intern(allow.source), sequence: allowSequence))
            allowSequence &+= 1
            return
        }
        throw DatabaseBuilder.RowRejected(reason: "an allowlist names hashes, not ids")
    }

    /// Everything `database` carries, to be carried on.
    func addAll(from database: HashDatabase) throws {
        for tombstone in try database.tombstones() { add(tombstone) }
        try database.forEachAllowEntry { try add($0) }
    }

    private func intern(_ text: String) -> UInt32 {
        let bytes = Array(text.utf8)
        if let known = texts[bytes] { return known }
        let id = UInt32(textList.count)
        texts[bytes] = id
        textList.append(text)
        return id
    }

    /// The sections; none when there is nothing to carry.
    func finish(directory: String) throws -> [SectionContent] {
        let sortedTombstones = tombstones.sorted()
        for tombstone in sortedTombstones {
            _ = intern(tombstone.reason)
            _ = intern(tombstone.source)
            if case .id(let id) = tombstone.value { _ = intern(id) }
        }
        guard !sortedTombstones.isEmpty || allows.count > 0 else { return [] }
        // The pool in byte order; records refer to it by position.
        let order = textList.indices.sorted { textList[$0].utf8.lexicographicallyPrecedes(textList[$1].utf8) }
        var position = [UInt32](repeating: 0, count: textList.count)
        for (rank, id) in order.enumerated() { position[id] = UInt32(rank) }
        var sections = [DatabaseBuilder.stringPoolSection(.annotationStrings, order.map { textList[$0] })]

        if !sortedTombstones.isEmpty {
            var bytes: [UInt8] = []
            for tombstone in sortedTombstones {
                var idText = AnnotationRecord.noText
                if case .id(let id) = tombstone.value { idText = position[Int(intern(id))] }
                bytes += AnnotationRecord.encode(kind: tombstone.value.kindCode, radius: 0, reason: position[Int(intern(tombstone.reason))],
                                                 source: position[Int(intern(tombstone.source))], idText: idText, value: tombstone.value.storedValue)
            }
            sections.append(SectionContent(kind: .tombstones, count: sortedTombstones.count, pieces: [.bytes(bytes)]))
        }
        if allows.count > 0 {
            let file = try BufferedFileWriter(path: directory + "/allowlist.section")
            var written = 0
            var run: [AllowSortKey] = []
            func flush() throws {
                // Equal values: in (source, radius, reason) order, repeats dropped.
                run.sort { a, b in
                    if a.source != b.source { return position[Int(a.source)] < position[Int(b.source)] }
                    if a.radius != b.radius { return a.radius < b.radius }
                    return position[Int(a.reason)] < position[Int(b.reason)]
                }
                var previous: AllowSortKey?
                for key in run {
                    if let previous, previous.source == key.source, previous.radius == key.radius, previous.reason == key.reason { continue }
                    try file.write(AnnotationRecord.encode(kind: key.kind, radius: key.radius, reason: position[Int(key.reason)],
                                                           source: position[Int(key.source)], idText: AnnotationRecord.noText, value: key.value))
                    written += 1
                    previous = key
                }
                run.removeAll(keepingCapacity: true)
            }
            try allows.forEachSorted { key, _ in
                if let first = run.first, first.kind != key.kind || first.value != key.value { try flush() }
                run.append(key)
            }
            try flush()
            try file.close()
            sections.append(SectionContent(kind: .allowlist, count: written, pieces: [.file(file.path)]))
        }
        return sections
    }
}
