/// The exact digests hash lists carry.
public enum DigestKind: String, CaseIterable, Sendable, Codable, Comparable {
    case sha256
    case sha1
    case md5

    public var byteCount: Int {
        switch self {
        case .sha256: 32
        case .sha1: 20
        case .md5: 16
        }
    }

    /// The kind whose hex form has this many digits.
    public init?(hexLength: Int) {
        guard let kind = Self.allCases.first(where: { $0.byteCount * 2 == hexLength }) else { return nil }
        self = kind
    }

    public static func < (lhs: DigestKind, rhs: DigestKind) -> Bool {
        lhs.byteCount > rhs.byteCount
    }
}

/// A SHA-256, SHA-1 or MD5 digest of some bytes.
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    public let kind: DigestKind
    /// The digest's bytes first, zero after them.
    public let value: Bytes32

    public init(kind: DigestKind, value: Bytes32) {
        self.kind = kind
        self.value = value
    }

    public init<S: StringProtocol>(kind: DigestKind, hex: S) throws(HexError) {
        self.kind = kind
        value = try Hex.decode(hex, byteCount: kind.byteCount)
    }

    public var hex: String { Hex.encode(value, byteCount: kind.byteCount) }
    public var description: String { "\(kind.rawValue):\(hex)" }
}

/// SHA-256, SHA-1 and MD5 of one file's bytes.
public struct FileDigests: Hashable, Sendable {
    public var sha256: Digest
    public var sha1: Digest
    public var md5: Digest

    public subscript(kind: DigestKind) -> Digest {
        switch kind {
        case .sha256: sha256
        case .sha1: sha1
        case .md5: md5
        }
    }

    public var all: [Digest] { [sha256, sha1, md5] }
}
