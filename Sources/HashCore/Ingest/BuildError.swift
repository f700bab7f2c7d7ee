/// Why a build or merge wrote nothing: the one error type of the ingest API (`DatabaseIngest`,
/// `DatabaseBuilder.write`, `DatabaseMerger.write`). Each case keeps what names the problem —
/// the file and line of a row, the errno of a system call — and prints as its cause does.
public enum BuildError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A malformed row, when the policy is strict (otherwise rows are counted and skipped).
    case row(RowError)
    /// An input that cannot be read at all, or is of a kind the job does not take.
    case input(InputError)
    /// A read or write of hashdb's own files (the output, working files) failed.
    case io(FileIOError)
    /// More than one build or merge takes (rows, entries, distinct digests).
    case limit(String)
    /// An input database that cannot be used: damaged, its checksum failing.
    case database(DatabaseError)
    /// A fault of hashdb's own (working files that disagree with each other); a bug to report.
    case `internal`(String)

    public var description: String {
        switch self {
        case .row(let error): error.description
        case .input(let error): error.description
        case .io(let error): error.description
        case .limit(let reason): reason
        case .database(let error): error.description
        case .internal(let reason): "internal error (please report it): \(reason)"
        }
    }

    /// The error as a build error: build errors as they are, the library's error types by kind,
    /// a row rejection outside any row (a limit of the whole job) as a limit. Anything else is
    /// an internal fault.
    init(_ error: any Error) {
        switch error {
        case let error as BuildError: self = error
        case let error as RowError: self = .row(error)
        case let error as InputError: self = .input(error)
        case let error as FileIOError: self = .io(error)
        case let error as DatabaseError: self = .database(error)
        case let error as DatabaseBuilder.RowRejected: self = .limit(error.reason)
        default: self = .internal(String(describing: error))
        }
    }

    /// Runs `body`, its errors as build errors.
    static func mapping<Result>(_ body: () throws -> Result) throws(BuildError) -> Result {
        do {
            return try body()
        } catch {
            throw BuildError(error)
        }
    }
}
