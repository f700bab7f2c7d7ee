import Foundation
import HashCore
import HashServer
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport

/// A database built from the project's Fixtures, in a temporary directory, and an app serving it.
final class ServiceFixture: @unchecked Sendable {
    let directory: URL
    let databasePath: String
    let store: DatabaseStore
    /// The key every test request presents (the key ring also holds a rate-limited one).
    static let key = "test-key-0123456789"
    static let slowKey = "slow-key-0123456789"
    /// The operator's key (/metrics, /status), from a key ring of its own.
    static let operatorKey = "operator-key-0123456789"

    static func image(_ relative: String) -> URL {
        TestPaths.fixtures.appendingPathComponent(relative)
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: image(relative)))
    }

    /// Rows: baseline.jpg by every hash (id known-baseline, category A1, source hotline),
    /// rgb8.png by PDQ only (known-rgb8, B2, police), and the SHA-256 of a corrupt WebP
    /// (known-corrupt, A1, hotline), which cannot be decoded but is still listed.
    static func rows(variant: Int = 0) throws -> [ListRow] {
        let fingerprinter = Fingerprinter()
        let baseline = try fingerprinter.fingerprint(path: image("images/jpeg/baseline.jpg").path)
        let rgb8 = try fingerprinter.fingerprint(path: image("images/png/rgb8.png").path)
        let corrupt = try fingerprinter.fingerprint(path: image("bad/corrupt.webp").path)
        var rows: [ListRow] = []
        var row = ListRow(id: "known-baseline", digests: baseline.digests.all, pdq: baseline.imageFingerprint?.pdq.hash,
                          quality: baseline.imageFingerprint?.pdq.quality)
        row.categories = ["A1"]
        row.sources = ["hotline"]
        rows.append(row)
        row = ListRow(id: "known-rgb8", pdq: rgb8.imageFingerprint?.pdq.hash, quality: rgb8.imageFingerprint?.pdq.quality)
        row.categories = ["B2"]
        row.sources = ["police"]
        rows.append(row)
        row = ListRow(id: "known-corrupt", digests: corrupt.digests.all.filter { $0.kind == .sha256 })
        row.categories = ["A1"]
        row.sources = ["hotline"]
        rows.append(row)
        // Variants differ by one extra entry, so that their checksums differ.
        for index in 0..<variant {
            var extra = ListRow(id: "extra-\(variant)-\(index)",
                                digests: [Digest(kind: .md5, value: Bytes32(w0: UInt64(variant), w1: UInt64(index), w2: 0, w3: 0))])
            extra.sources = ["extra"]
            rows.append(extra)
        }
        return rows
    }

    /// `manifest` replaces the build's own manifest text (as an export's would).
    static func buildDatabase(at path: String, variant: Int = 0, manifest: String? = nil, extraRows: [ListRow] = []) throws {
        let builder = try DatabaseBuilder(destination: path, options: .init(memoryBudget: 1 << 20))
        if let manifest { builder.restoreManifest(manifest) }
        for row in try rows(variant: variant) + extraRows {
            try builder.add(row)
        }
        _ = try builder.write()
    }

    init(variant: Int = 0, manifest: String? = nil, extraRows: [ListRow] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appendingPathComponent("known.hdb").path
        try Self.buildDatabase(at: databasePath, variant: variant, manifest: manifest, extraRows: extraRows)
        store = try DatabaseStore(path: databasePath)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func settings(_ adjust: (inout ServerSettings) -> Void = { _ in }) -> ServerSettings {
        var settings = ServerSettings(databasePath: databasePath, hashingThreads: 2)
        settings.keys = KeyRing(keys: [
            KeyRing.Key(name: "tester", digest: KeyRing.digest(of: Self.key), ratePerSecond: nil),
            KeyRing.Key(name: "slow", digest: KeyRing.digest(of: Self.slowKey), ratePerSecond: 2),
        ])
        settings.operatorKeys = KeyRing(keys: [KeyRing.Key(name: "operator", digest: KeyRing.digest(of: Self.operatorKey), ratePerSecond: nil)])
        settings.reloadOnSIGHUP = false
        settings.reloadPollInterval = .milliseconds(20)
        adjust(&settings)
        return settings
    }

    func app(logger: Logger? = nil, _ adjust: (inout ServerSettings) -> Void = { _ in }) -> some ApplicationProtocol {
        var quiet = Logger(label: "hashdb.test")
        quiet.logLevel = .warning
        return buildApplication(settings(adjust), store: store, logger: logger ?? quiet)
    }

    /// Replaces the database the way build and merge do: a complete file renamed over the path.
    func replaceDatabase(variant: Int) throws {
        let staging = path("staging-\(variant).hdb")
        try Self.buildDatabase(at: staging, variant: variant)
        guard rename(staging, databasePath) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// Puts a copy of the serving database with one content byte flipped at the path.
    func replaceWithCorruptDatabase() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        bytes[bytes.count / 2] ^= 0x40
        let staging = path("corrupt.hdb")
        try bytes.write(to: URL(fileURLWithPath: staging))
        guard rename(staging, databasePath) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}

extension HTTPFields {
    static var authorized: HTTPFields { [.authorization: "Bearer \(ServiceFixture.key)"] }
    static var operatorAuthorized: HTTPFields { [.authorization: "Bearer \(ServiceFixture.operatorKey)"] }
}

/// Every record logged through it, for tests of what the service logs and what it must not.
final class CapturedLogs: @unchecked Sendable {
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
        /// The message and every metadata value, as one text to search.
        var text: String { ([message] + metadata.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    private let lock = NSLock()
    private var stored: [Record] = []

    var records: [Record] { lock.withLock { stored } }

    func append(_ record: Record) { lock.withLock { stored.append(record) } }

    /// A logger at `level` writing here.
    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "hashdb.test.captured") { _ in Handler(logs: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            logs.append(Record(level: level, message: message.description, metadata: self.metadata.merging(metadata ?? [:]) { $1 }))
        }
    }
}

/// The JSON object of a response body.
func json(_ response: TestResponse) throws -> [String: Any] {
    let data = Data(response.body.readableBytesView)
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return object
}

func errorCode(_ response: TestResponse) throws -> String? {
    (try json(response)["error"] as? [String: Any])?["code"] as? String
}

func matchIDs(_ object: [String: Any]) -> [String] {
    (object["matches"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
}

/// A multipart/form-data body with one part per (name, bytes).
func multipart(_ parts: [(filename: String, bytes: [UInt8])], boundary: String = "hashdb-test-boundary") -> ByteBuffer {
    var body: [UInt8] = []
    for part in parts {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(part.filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += part.bytes
        body += Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return ByteBuffer(bytes: body)
}
