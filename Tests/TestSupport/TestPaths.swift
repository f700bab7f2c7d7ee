import Foundation

/// Where the tests find the project's Fixtures/ and the shared conformance set, from this
/// file's own location (tests cannot list resources outside their folder).
public enum TestPaths {
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let fixtures = repositoryRoot.appendingPathComponent("Fixtures")

    /// `../shared` beside the checkout, or HASHDB_SHARED.
    public static let shared: URL = {
        if let override = ProcessInfo.processInfo.environment["HASHDB_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    public static let conformance = shared.appendingPathComponent("conformance/pdq")

    public static var conformanceAvailable: Bool {
        FileManager.default.fileExists(atPath: conformance.appendingPathComponent("expected.tsv").path)
    }

    /// In CI a missing conformance set is a failure, never a silent skip.
    public static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }
}

/// A tab-separated file with a header row, as expected.tsv files are.
public struct TSVTable: Sendable {
    public let header: [String]
    public let rows: [[String: String]]

    public init(contentsOf url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = lines.isEmpty ? [] : lines.removeFirst().components(separatedBy: "\t")
        self.header = header
        rows = lines.map { line in
            let fields = line.components(separatedBy: "\t")
            var row: [String: String] = [:]
            for (index, name) in header.enumerated() {
                row[name] = index < fields.count ? fields[index] : ""
            }
            return row
        }
    }
}

/// Damage a database's structural checks cannot see: a digit of a row count in its build
/// manifest changed (the manifest stays a JSON object of the same length). Only the checksum
/// notices.
public func damageManifestContent(_ bytes: inout [UInt8]) {
    let key = Array("\"rows\":".utf8)
    guard let start = (0...(bytes.count - key.count)).last(where: { bytes[$0..<($0 + key.count)].elementsEqual(key) }) else {
        preconditionFailure("no \"rows\" in the manifest")
    }
    let digit = start + key.count
    bytes[digit] = bytes[digit] == UInt8(ascii: "9") ? UInt8(ascii: "8") : bytes[digit] + 1
}
