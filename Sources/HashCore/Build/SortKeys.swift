import CShims
import Foundation

/// A key that links rows: (kind, value), with the row as tie-breaker so sorting is
/// deterministic.
struct LinkKey: ExternalSortKey {
    var value: Bytes32
    var row: UInt32
    var kind: UInt8

    static let pdqKind: UInt8 = 3
    /// A video's frames, for a video row with no digest (`StoredVideo.linkKey`).
    static let videoKind: UInt8 = 4
    /// A TMK+PDQF, for a video row with neither digest nor frames (`TMKFeatures.linkKey`).
    static let tmkKind: UInt8 = 5
    static let kindCount = 6

    /// Bytes of a key's value in hex ids: a digest's width, 32 for PDQ and video keys.
    static func valueWidth(_ code: UInt8) -> Int {
        code < pdqKind ? DigestKind.allCases[Int(code)].byteCount : 32
    }

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
        case 3: "pdq"
        case 4: "vpdq"
        default: "tmk"
        }
    }

    /// Kind in the top 3 bits, then the value's first 61.
    var sortPrefix: UInt64 { UInt64(kind) << 61 | value.w0 >> 3 }

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
