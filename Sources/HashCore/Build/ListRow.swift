/// One record of a hash list: what a row of CSV, TSV or JSON Lines (or a fingerprinted image)
/// says about one item.
public struct ListRow: Sendable, Equatable {
    /// The list's own record id, if it has one.
    public var id: String?
    /// At most one digest of each kind, held inline (lists have millions of rows).
    public var sha256: Bytes32?
    public var sha1: Bytes32?
    public var md5: Bytes32?
    public var pdq: PDQHash?
    /// PDQ quality 0...100, when known.
    public var quality: Int?
    public var categories: [String]
    public var sources: [String]
    /// When the item was added to its list (seconds since 1970, UTC).
    public var added: Int64?
    /// What the row is: an item (the usual), or, in an export or a removal or allow list, a
    /// removal, an allowlist entry or a database's manifest.
    public var record: RecordKind = .entry
    /// Why a removal or allowlist entry was made.
    public var reason: String?
    /// For an allowlist PDQ hash: how near counts as the same image.
    public var radius: Int?
    /// For a manifest record: the build manifest's JSON, as the database holds it.
    public var manifest: String?
    /// For a manifest record: the database's creation time, when it records one.
    public var created: Int64?
    /// The line of its list the row was read from, to name it in a rejection found after
    /// parsing. Where a row came from is not what it says: `==` leaves the line out.
    public var line: Int?

    public static func == (a: ListRow, b: ListRow) -> Bool {
        a.id == b.id && a.sha256 == b.sha256 && a.sha1 == b.sha1 && a.md5 == b.md5 && a.pdq == b.pdq
            && a.quality == b.quality && a.categories == b.categories && a.sources == b.sources && a.added == b.added
            && a.record == b.record && a.reason == b.reason && a.radius == b.radius && a.manifest == b.manifest
            && a.created == b.created
    }

    public enum RecordKind: String, Sendable, CaseIterable {
        case entry, removed, allowed, manifest
    }

    public init(id: String? = nil, digests: [Digest] = [], pdq: PDQHash? = nil, quality: Int? = nil,
                categories: [String] = [], sources: [String] = [], added: Int64? = nil) {
        self.id = id
        self.pdq = pdq
        self.quality = quality
        self.categories = categories
        self.sources = sources
        self.added = added
        for digest in digests {
            setDigest(digest)
        }
    }

    public func digest(_ kind: DigestKind) -> Digest? {
        let value: Bytes32?
        switch kind {
        case .sha256: value = sha256
        case .sha1: value = sha1
        case .md5: value = md5
        }
        return value.map { Digest(kind: kind, value: $0) }
    }

    /// Its digests, SHA-256 first.
    public var digests: [Digest] { DigestKind.allCases.compactMap(digest) }

    public mutating func setDigest(_ digest: Digest) {
        switch digest.kind {
        case .sha256: sha256 = digest.value
        case .sha1: sha1 = digest.value
        case .md5: md5 = digest.value
        }
    }

    public var hasDigest: Bool { sha256 != nil || sha1 != nil || md5 != nil }

    /// A row must say what it identifies.
    public var hasHash: Bool { hasDigest || pdq != nil }

    /// The removals a row of a removal list asks for: one for each of its digests, its PDQ
    /// hash and its id. `source` names the list when the row does not.
    public func tombstones(defaultSource: String, defaultReason: String) -> [Tombstone] {
        let source = sources.first ?? defaultSource
        let why = reason ?? defaultReason
        var values = digests.map(AnnotatedValue.digest)
        if let pdq { values.append(.pdq(pdq)) }
        if let id { values.append(.id(id)) }
        return values.map { Tombstone(value: $0, reason: why, source: source) }
    }

    /// The allowlist entries a row of an allow list gives: its digests, and its PDQ hash
    /// with the row's radius (or `defaultRadius`).
    public func allowEntries(defaultSource: String, defaultReason: String, defaultRadius: Int) -> [AllowEntry] {
        let source = sources.first ?? defaultSource
        let why = reason ?? defaultReason
        var entries = digests.map { AllowEntry(value: .digest($0), radius: 0, reason: why, source: source) }
        if let pdq { entries.append(AllowEntry(value: .pdq(pdq), radius: radius ?? defaultRadius, reason: why, source: source)) }
        return entries
    }
}

/// Why one row of a list was rejected; with the file and line, what a user fixes.
public struct RowError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    /// The line (an NSRL database's row) the rejected row came from; nil for a file that is
    /// not a list (an image that could not be fingerprinted).
    public let line: Int?
    public let reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }
}

/// Why a whole input could not be read.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// The fields every list format shares, by name, and how their values are read.
enum ListField: String, CaseIterable {
    case id, sha256, sha1, md5, pdq, quality, category, source, added, record, reason, radius, manifest, created

    /// Column and key names, lower-cased; plurals are accepted for the label fields.
    init?(name: String) {
        switch name.lowercased().trimmingASCIIWhitespace() {
        case "id": self = .id
        case "sha256": self = .sha256
        case "sha1": self = .sha1
        case "md5": self = .md5
        case "pdq": self = .pdq
        case "quality": self = .quality
        case "category", "categories": self = .category
        case "source", "sources": self = .source
        case "added": self = .added
        case "record": self = .record
        case "reason": self = .reason
        case "radius": self = .radius
        case "manifest": self = .manifest
        case "created": self = .created
        default: return nil
        }
    }
}

/// Reading field values, shared by every list format.
enum FieldParser {
    /// Labels in one field are separated by semicolons.
    static let labelSeparator: Character = ";"

    static func labels(_ text: Substring) -> [String] {
        text.split(separator: labelSeparator).map { String($0.trimmingASCIIWhitespace()) }.filter { !$0.isEmpty }
    }

    static func digest(_ kind: DigestKind, _ text: Substring) throws(RowFieldError) -> Digest {
        do {
            return try Digest(kind: kind, hex: text.trimmingASCIIWhitespace())
        } catch {
            throw RowFieldError("\(kind.rawValue): \(error)")
        }
    }

    /// An id from a field's bytes: refused when they are not valid UTF-8, since repairing
    /// them would make two different ids one.
    static func id(bytes: UnsafeRawBufferPointer) throws(RowFieldError) -> String {
        guard let id = String(validating: bytes, as: UTF8.self) else {
            throw RowFieldError("id: not valid UTF-8 (\(Hex.abbreviated(Hex.encode(Array(bytes)))) in hex)")
        }
        return id
    }

    static func pdq(_ text: Substring) throws(RowFieldError) -> PDQHash {
        do {
            return try PDQHash(hex: text.trimmingASCIIWhitespace())
        } catch {
            throw RowFieldError("pdq: \(error)")
        }
    }

    /// A whole number 0...100 from ASCII digits.
    static func quality(bytes: UnsafeRawBufferPointer) throws(RowFieldError) -> Int {
        var value = 0
        for byte in bytes {
            guard byte >= 48 && byte <= 57, value <= 100 else {
                throw RowFieldError("quality: '\(Hex.abbreviated(String(decoding: bytes, as: UTF8.self)))' is not a whole number from 0 to 100")
            }
            value = value * 10 + Int(byte - 48)
        }
        guard !bytes.isEmpty, value <= 100 else {
            throw RowFieldError("quality: '\(Hex.abbreviated(String(decoding: bytes, as: UTF8.self)))' is not a whole number from 0 to 100")
        }
        return value
    }

    static func record(_ text: Substring) throws(RowFieldError) -> ListRow.RecordKind {
        guard let kind = ListRow.RecordKind(rawValue: String(text.trimmingASCIIWhitespace()).lowercased()) else {
            throw RowFieldError("record: '\(Hex.abbreviated(String(text)))' is not entry, removed, allowed or manifest")
        }
        return kind
    }

    static func radius(_ text: Substring) throws(RowFieldError) -> Int {
        guard let value = Int(text.trimmingASCIIWhitespace()), (0...PDQ.maximumAllowRadius).contains(value) else {
            throw RowFieldError("radius: '\(Hex.abbreviated(String(text)))' is not a whole number from 0 to \(PDQ.maximumAllowRadius)")
        }
        return value
    }

    static func quality(_ text: Substring) throws(RowFieldError) -> Int {
        guard let value = Int(text.trimmingASCIIWhitespace()), (0...100).contains(value) else {
            throw RowFieldError("quality: '\(Hex.abbreviated(String(text)))' is not a whole number from 0 to 100")
        }
        return value
    }

    /// Seconds since 1970 UTC from "2024-05-01", "2024-05-01T12:30:00Z",
    /// "2024-05-01T12:30:00+02:00", "2024-05-01 12:30:00" (UTC) or a plain number of seconds.
    static func time(bytes: UnsafeRawBufferPointer) throws(RowFieldError) -> Int64 {
        if let seconds = ISOTime.parse(bytes: bytes) {
            return seconds
        }
        return try time(Substring(String(decoding: bytes, as: UTF8.self)))
    }

    static func time(_ text: Substring) throws(RowFieldError) -> Int64 {
        let trimmed = text.trimmingASCIIWhitespace()
        if let seconds = Int64(trimmed) {
            guard ISOTime.range.contains(seconds) else {
                throw RowFieldError("added: \(seconds) seconds is outside the years 0000 to 9999")
            }
            return seconds
        }
        guard let time = ISOTime.parse(trimmed) else {
            throw RowFieldError("added: '\(Hex.abbreviated(String(text)))' is not a date (YYYY-MM-DD[THH:MM:SS[Z|±HH:MM]]) or seconds since 1970")
        }
        return time
    }
}

struct RowFieldError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// ISO 8601 dates and times, as lists write them.
public enum ISOTime {
    public static func parse<S: StringProtocol>(_ text: S) -> Int64? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { parse(bytes: $0) }
    }

    static func parse(bytes: UnsafeRawBufferPointer) -> Int64? {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                guard bytes[index] >= 48 && bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == 45, bytes[7] == 45,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
        guard bytes.count > 10 else { return seconds }
        guard bytes.count >= 19, bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32, bytes[13] == 58, bytes[16] == 58,
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            hour < 24, minute < 60, second < 61
        else { return nil }
        seconds += Int64(hour * 3600 + minute * 60 + second)
        var rest = 19
        if rest < bytes.count && bytes[rest] == 46 {  // fractional seconds: ignored
            rest += 1
            while rest < bytes.count && bytes[rest] >= 48 && bytes[rest] <= 57 { rest += 1 }
        }
        if rest == bytes.count || (rest == bytes.count - 1 && (bytes[rest] == 90 || bytes[rest] == 122)) {
            return seconds
        }
        guard bytes.count - rest == 6, bytes[rest] == 43 || bytes[rest] == 45, bytes[rest + 3] == 58,
            let offsetHours = number((rest + 1)..<(rest + 3)), let offsetMinutes = number((rest + 4)..<(rest + 6))
        else { return nil }
        let offset = Int64(offsetHours * 3600 + offsetMinutes * 60)
        return bytes[rest] == 43 ? seconds - offset : seconds + offset
    }

    /// The times hashdb accepts and prints: years 0000 to 9999.
    public static let range: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// "2024-05-01T12:30:00Z" for seconds since 1970; out of `range` (a damaged file), the
    /// number itself.
    public static func format(_ seconds: Int64) -> String {
        guard range.contains(seconds) else { return String(seconds) }
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp + (mp < 10 ? 3 : -9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, let scalar = self[start].asciiValue, scalar == 32 || scalar == 9 || scalar == 13 || scalar == 10 {
            start = index(after: start)
        }
        while end > start, let scalar = self[index(before: end)].asciiValue, scalar == 32 || scalar == 9 || scalar == 13 || scalar == 10 {
            end = index(before: end)
        }
        return self[start..<end]
    }
}
