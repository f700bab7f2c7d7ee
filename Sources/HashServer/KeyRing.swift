import Foundation
import HashCore

/// The API keys the service accepts. Only the SHA-256 of each key is kept, in memory and in
/// the key file, so that a leaked key file or memory dump does not hand out working keys.
///
/// Key file: one key per line, `NAME sha256:HEX [rate=N]`, where N is the requests per second
/// that key may make (bursts up to N); blank lines and lines starting with # are ignored.
/// `hashdb key new NAME` prints a new key and the line to add.
public struct KeyRing: Sendable {
    public struct Key: Sendable, Equatable {
        public let name: String
        let digest: Bytes32
        /// Requests per second; nil: unlimited.
        public let ratePerSecond: Int?

        public init(name: String, digest: Bytes32, ratePerSecond: Int?) {
            self.name = name
            self.digest = digest
            self.ratePerSecond = ratePerSecond
        }
    }

    public let keys: [Key]

    public init(keys: [Key]) {
        self.keys = keys
    }

    /// Reads a key file, naming the line of the first problem.
    public init(contentsOf path: String) throws(KeyFileError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .cannotRead(path: path, reason: error.localizedDescription)
        }
        try self.init(parsing: text, path: path)
    }

    public init(parsing text: String, path: String) throws(KeyFileError) {
        var keys: [Key] = []
        var lineOfName: [String: Int] = [:]
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let key = try Self.parseLine(line, path: path, line: offset + 1)
            if let first = lineOfName[key.name] {
                throw .invalidLine(path: path, line: offset + 1, reason: "key name '\(key.name)' was already given on line \(first)")
            }
            lineOfName[key.name] = offset + 1
            keys.append(key)
        }
        guard !keys.isEmpty else { throw .noKeys(path: path) }
        self.keys = keys
    }

    private static func parseLine(_ line: String, path: String, line number: Int) throws(KeyFileError) -> Key {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 2 || fields.count == 3 else {
            throw .invalidLine(path: path, line: number, reason: "expected NAME sha256:HEX [rate=N]")
        }
        guard fields[1].hasPrefix("sha256:"), let digest = try? Hex.decode(fields[1].dropFirst(7), byteCount: 32) else {
            throw .invalidLine(path: path, line: number, reason: "the second field must be sha256: and 64 hex digits (the key's SHA-256, never the key)")
        }
        var rate: Int?
        if fields.count == 3 {
            guard fields[2].hasPrefix("rate="), let value = Int(fields[2].dropFirst(5)), value > 0 else {
                throw .invalidLine(path: path, line: number, reason: "the third field must be rate=N with N a positive number of requests per second")
            }
            rate = value
        }
        return Key(name: fields[0], digest: digest, ratePerSecond: rate)
    }

    /// The key whose SHA-256 equals the presented key's. Every stored digest is compared in
    /// full, whatever matches, so the time taken says nothing about how close a guess was.
    public func authenticate(_ presented: String) -> Key? {
        let digest = Self.digest(of: presented)
        var found: Key?
        for key in keys {
            let difference = (key.digest.w0 ^ digest.w0) | (key.digest.w1 ^ digest.w1)
                | (key.digest.w2 ^ digest.w2) | (key.digest.w3 ^ digest.w3)
            if difference == 0 { found = key }
        }
        return found
    }

    public static func digest(of key: String) -> Bytes32 {
        let stream = SHA256Stream()
        Array(key.utf8).withUnsafeBytes { stream.update($0) }
        return stream.finish()
    }

    /// A new random key (256 bits from the system's secure generator) and its key-file line.
    public static func generate(name: String, ratePerSecond: Int? = nil) -> (key: String, line: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = "hdb_" + Hex.encode(bytes)
        let line = "\(name) sha256:\(Hex.encode(digest(of: key), byteCount: 32))" + (ratePerSecond.map { " rate=\($0)" } ?? "")
        return (key, line)
    }
}

public enum KeyFileError: Error, Sendable, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case invalidLine(path: String, line: Int, reason: String)
    case noKeys(path: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "\(path): cannot read the key file: \(reason)"
        case .invalidLine(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .noKeys(let path): "\(path): no keys (a key file with no keys would lock every client out)"
        }
    }
}
