import Foundation

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
