/// Why a database file could not be used. Every case names the file.
public enum DatabaseError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notADatabase(path: String)
    case unsupportedVersion(path: String, major: Int, minor: Int)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case corrupt(path: String, detail: String)
    case checksumMismatch(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "\(path): cannot open: \(reason)"
        case .notADatabase(let path): "\(path): not a hashdb database (bad magic)"
        case .unsupportedVersion(let path, let major, let minor):
            "\(path): database format \(major).\(minor) is not supported by this hashdb (reads \(DatabaseFormat.majorVersion).x)"
        case .truncated(let path, let expected, let actual):
            "\(path): truncated: the header says \(expected) bytes, the file has \(actual)"
        case .corrupt(let path, let detail): "\(path): corrupt database: \(detail)"
        case .checksumMismatch(let path): "\(path): checksum mismatch: the content is not what was written"
        }
    }

    public var code: String {
        switch self {
        case .cannotOpen: "cannot_open"
        case .notADatabase: "not_a_database"
        case .unsupportedVersion: "unsupported_version"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .checksumMismatch: "checksum_mismatch"
        }
    }
}
