import ArgumentParser
import Foundation
import HashCore

extension ListFormat: ExpressibleByArgument {}

/// How list inputs are read, shared by build and merge.
struct ListInputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Source (list name) for rows that name none. Default: each input's file name.", valueName: "name"))
    var source: String?

    @Option(help: ArgumentHelp("Category for rows that name none (repeatable).", valueName: "category"))
    var category: [String] = []

    @Option(help: ArgumentHelp("Added time for rows that give none.", valueName: "date"))
    var added: String?

    @Option(help: "Read every list input as this format instead of guessing: csv, tsv, jsonl, hashdeep, nsrl, pdq or checksums (sha256sum, sha1sum, md5sum output). A first column of 64 hex digits is a checksum list when two spaces (or a space and *) follow it, a PDQ list otherwise.")
    var format: ListFormat?

    @Flag(help: "Stop at the first malformed row (nothing is written).")
    var strict = false

    func validate() throws {
        if let added, parsedTime(added) == nil { throw ValidationError("--added '\(added)' is not a date or time") }
    }

}

/// Removal lists and allowlists, shared by build and merge.
struct AnnotationListOptions: ParsableArguments {
    @Option(name: .customLong("remove"), help: ArgumentHelp(
        "A list of removals (repeatable): every digest, PDQ hash and id in it is left out, now and in every later merge or build from the output. A 'reason' column says why.",
        valueName: "list"))
    var removalLists: [String] = []

    @Option(name: .customLong("allow"), help: ArgumentHelp(
        "An allowlist of known-benign hashes (repeatable): a query with one of its digests matches nothing; a query within its PDQ hashes' radius gets no near matches. A 'radius' column sets the radius per hash.",
        valueName: "list"))
    var allowLists: [String] = []

    @Option(help: ArgumentHelp("Radius of allowlist PDQ hashes that give none (0–\(PDQ.maximumAllowRadius)).", valueName: "bits"))
    var allowRadius: Int = PDQ.matchThreshold

    @Option(help: ArgumentHelp("Reason recorded for removals and allowlist entries that give none. Default: 'listed in <list>'.", valueName: "text"))
    var reason: String?

    func validate() throws {
        guard (0...PDQ.maximumAllowRadius).contains(allowRadius) else {
            throw ValidationError("--allow-radius must be from 0 to \(PDQ.maximumAllowRadius)")
        }
    }

}

/// The ingest policy and inputs that the list, removal and job options describe together.
extension ListInputOptions {
    func policy(annotations: AnnotationListOptions, limits: DecodeLimits, jobs: Int) -> IngestPolicy {
        IngestPolicy(source: source, categories: category, added: added.flatMap(parsedTime), format: format, strict: strict,
                     decodeLimits: limits, jobs: jobs, allowRadius: annotations.allowRadius, annotationReason: annotations.reason)
    }
}

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
    /// status 2, as any rejected input does; other failures as errors (status 1).
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

/// Sort memory and stage reports, shared by the commands that write databases.
struct WriteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Memory for sort buffers, in MiB (the job needs about this plus 8 bytes a row or input entry).", valueName: "MiB"))
    var memory: Int = 512

    @Flag(help: "Report each stage, with its time, on standard error.")
    var verbose = false

    @Option(help: ArgumentHelp("Record this creation time in the header ('now' or a date); by default none, so that the same inputs give the same bytes.", valueName: "time"))
    var created: String?

    func validate() throws {
        guard memory >= 16 else { throw ValidationError("--memory must be at least 16 (MiB)") }
        if let created, created != "now", parsedTime(created) == nil {
            throw ValidationError("--created '\(created)' is not 'now', a date or a time")
        }
    }

    var createdAt: Int64? { created.map { $0 == "now" ? Int64(Date().timeIntervalSince1970) : parsedTime($0)! } }

    func builderOptions(nearIndex: Bool = true) -> DatabaseBuilder.Options {
        DatabaseBuilder.Options(memoryBudget: memory << 20, createdAt: createdAt, nearIndexTables: nearIndex ? nil : 0)
    }
}

/// Reports the stages of a long job: with --verbose, each stage's time on standard error; on
/// a terminal, the stage under way on the progress line.
final class StageReporter {
    private let command: String
    private let verbose: Bool
    let progress: ProgressLine?
    private let start = ContinuousClock.now
    private var stageStart = ContinuousClock.now
    private var stageName: String

    init(command: String, verbose: Bool, progress: ProgressLine?, firstStage: String) {
        self.command = command
        self.verbose = verbose
        self.progress = progress
        stageName = firstStage
    }

    func stage(_ name: String) {
        if verbose {
            progress?.finish()
            StandardError.line("\(command): \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
        }
        stageStart = ContinuousClock.now
        stageName = name
        progress?.update("\(name)…", force: true)
    }

    /// A report from a build or merge: a new stage, or how far the current one is.
    func report(_ report: BuildProgress) {
        if report.stage != stageName { stage(report.stage) }
        guard let total = report.total, total > 0, report.done > 0 else { return }
        progress?.update(Self.bar(report.stage, done: report.done, total: total))
    }

    /// "writing entries [#########.........]  47%"
    static func bar(_ label: String, done: Int, total: Int) -> String {
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        return "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3.0f%%", fraction * 100)
    }

    func finish() {
        if verbose {
            progress?.finish()
            StandardError.line("\(command): \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
        }
        progress?.finish()
    }

    var elapsed: String { formatSeconds(ContinuousClock.now - start) }
}

func formatSeconds(_ duration: Duration) -> String {
    String(format: "%.1f s", duration.seconds)
}

func parsedTime(_ text: String) -> Int64? {
    if let seconds = Int64(text) { return ISOTime.range.contains(seconds) ? seconds : nil }
    return ISOTime.parse(text)
}
