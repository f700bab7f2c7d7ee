/// Hashes written as text, the one parser for every place a person or a client gives one: the
/// command line and standard input of `hashdb query` ("kind:hex", or bare hex told by its
/// length) and the service's named fields (`"sha256": hex`).
public enum HashText {
    public enum Kind: String, CaseIterable, Sendable {
        case sha256, sha1, md5, pdq
    }

    /// Why a hash's text is not a hash.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// "kind:hex", or bare hex by its length: 32 digits MD5, 40 SHA-1, 64 SHA-256 *and* PDQ
    /// (the two cannot be told apart; both are asked).
    public static func parse(_ text: String) throws(ParseError) -> QueryHashes {
        let parts = text.split(separator: ":", maxSplits: 1)
        var hashes = QueryHashes()
        if parts.count == 2 {
            let name = parts[0].lowercased()
            guard let kind = Kind(rawValue: name) else {
                throw ParseError(description: "'\(name)' is not sha256, sha1, md5 or pdq")
            }
            try add(String(parts[1]), as: kind, to: &hashes)
            return hashes
        }
        guard let kind = DigestKind(hexLength: text.utf8.count) else {
            throw ParseError(description: String(describing: HexError.wrongLength(text: text, expected: [32, 40, 64])))
        }
        try add(text, as: Kind(rawValue: kind.rawValue)!, to: &hashes)
        if kind == .sha256 { try add(text, as: .pdq, to: &hashes) }
        return hashes
    }

    /// Adds one hash of a known kind (a named field's value).
    public static func add(_ hex: String, as kind: Kind, to hashes: inout QueryHashes) throws(ParseError) {
        do {
            switch kind {
            case .pdq: hashes.pdq = try PDQHash(hex: hex)
            case .sha256: hashes.digests.append(try Digest(kind: .sha256, hex: hex))
            case .sha1: hashes.digests.append(try Digest(kind: .sha1, hex: hex))
            case .md5: hashes.digests.append(try Digest(kind: .md5, hex: hex))
            }
        } catch {
            throw ParseError(description: String(describing: error))
        }
    }

    /// Whether `text` parses as a hash (a line of standard input that is not a path).
    public static func isHash(_ text: String) -> Bool {
        (try? parse(text)) != nil
    }
}
