import ArgumentParser
import HashCore

/// What a build or merge command shows of rows it rejected: the first few, each on its own
/// line, then how many more; the stop under --strict.
final class RejectionReport {
    private let command: String
    private let progress: ProgressLine?
    private var shown = 0
    private(set) var total = 0
    static let shownLimit = 20

    init(command: String, progress: ProgressLine?) {
        self.command = command
        self.progress = progress
    }

    func events(reporter: StageReporter?) -> IngestEvents {
        IngestEvents(
            reclaimed: { [command] stale in StandardError.line("\(command): removed \(stale), left by an interrupted run") },
            rejected: { [self] error in
                total += 1
                guard shown < Self.shownLimit else { return }
                shown += 1
                progress?.finish()
                StandardError.line("\(command): \(error.description)")
            },
            rowsRead: { [progress] rows, rejected in progress?.update("read \(rows) rows, \(rejected) rejected") },
            progress: { report in reporter?.report(report) })
    }

    /// "… and N more malformed rows", when more were rejected than shown.
    func finish() {
        progress?.finish()
        if total > shown {
            StandardError.line("\(command): … and \(total - shown) more malformed rows")
        }
    }

    /// Runs an ingest job: a strict stop and an unusable input database end the command with
    /// status 2; other failures, unreadable inputs among them, are thrown (status 1).
    func run<Report>(_ job: () throws(BuildError) -> Report) throws -> Report {
        do {
            return try job()
        } catch {
            finish()
            switch error {
            case .row:
                StandardError.line("\(command): stopped at the first malformed row (--strict); nothing written")
                throw ExitCode(2)
            case .database(let error):
                StandardError.line("\(command): \(error)")
                throw ExitCode(2)
            default:
                throw error
            }
        }
    }
}
