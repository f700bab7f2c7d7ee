import ArgumentParser
import Foundation
import HashCore

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a database from hash lists and images.",
        discussion: """
            Inputs are hash lists — CSV or TSV with a header row, or JSON Lines (hashdb hash's own \
            output is one) — and image files or directories, fingerprinted on the fly. The format \
            of a list is told by its content; --format overrides it.

            List columns (JSON keys), in any order, case-insensitive, unknown ones ignored: id, \
            sha256, sha1, md5, pdq, quality, category, source, added. Several categories or \
            sources in one field are separated by ';'. "added" is a date (2024-05-01), a time \
            (2024-05-01T12:00:00Z) or seconds since 1970. hashdeep files, NSRL RDSv3 databases \
            and PDQ lists (a hash a line, optionally with an id) are read too; hashdb export's \
            output rebuilds the database it came from, byte for byte.

            Rows that share a digest become one entry, with the union of their categories and \
            sources and the earliest added time. A malformed row is reported with its file and \
            line and skipped; --strict stops at the first one instead.

            The output is written to a temporary file next to DB and renamed over it when \
            complete: a database being replaced stays intact until then. Memory is bounded \
            (external sorts in a working directory next to DB): --memory sets the sort buffers.

            A hotline adds what its analysts classified after a scan with --scan-report (hashdb \
            scan's JSON Lines report) and --labels (CSV: cluster or path, category, optionally \
            source): every file of a labelled cluster becomes a row, so tomorrow's scan marks it known.

            Examples:
              hashdb build --output known.hdb --source nl-hotline --category A1 hotline.csv
              hashdb build --output known.hdb police.jsonl ncmec-pdq.tsv reviewed-images/
              hashdb build --output today.hdb --source nl-hotline --scan-report scan.jsonl --labels labels.csv
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("The database file to write.", valueName: "db"))
    var output: String

    @OptionGroup(title: "Lists") var lists: ListInputOptions
    @OptionGroup(title: "Removals and allowlists") var annotations: AnnotationListOptions
    @OptionGroup var write: WriteOptions
    @OptionGroup var jobs: JobsOption
    @OptionGroup var limitOptions: LimitOptions

    @Option(help: ArgumentHelp("A hashdb scan report (JSON Lines) whose labelled files to add; needs --labels.", valueName: "report"))
    var scanReport: String?

    @Option(help: ArgumentHelp("An analyst's labels for --scan-report: CSV with cluster (or path) and category columns, optionally source.", valueName: "csv"))
    var labels: String?

    @Argument(help: ArgumentHelp("Hash lists, image files and image directories.", valueName: "input"))
    var inputs: [String] = []

    func validate() throws {
        guard (scanReport == nil) == (labels == nil) else { throw ValidationError("--scan-report and --labels go together") }
        guard !inputs.isEmpty || scanReport != nil else { throw ValidationError("name at least one input list, image or directory") }
    }

    func run() throws {
        let command = "hashdb build"
        // A usage error, before any work: the library refuses it too, as an input error.
        for input in inputs where (try? InputKind.classify(input)) == .database {
            throw ValidationError("\(input) is a database: combine databases with hashdb merge")
        }
        let progress = StandardError.isTerminal ? ProgressLine() : nil
        let reporter = StageReporter(command: command, verbose: write.verbose, progress: progress, firstStage: "reading inputs")
        let rejections = RejectionReport(command: command, progress: progress)
        let request = IngestInputs(items: inputs, labelledScan: scanReport.map { .init(report: $0, labels: labels!) },
                                   removals: annotations.removalLists, allowlists: annotations.allowLists)
        let policy = lists.policy(annotations: annotations, limits: limitOptions.limits, jobs: jobs.count)
        let report = try rejections.run { () throws(BuildError) in
            try DatabaseIngest.build(request, to: output, policy: policy, options: write.builderOptions(),
                                     events: rejections.events(reporter: reporter))
        }
        reporter.finish()
        rejections.finish()
        let summary = report.summary
        let digests = DigestKind.allCases.map { "\($0.rawValue) \(summary.digests[$0] ?? 0)" }.joined(separator: ", ")
        StandardError.line("\(command): \(summary.rows) rows → \(summary.entries) entries (\(digests), pdq \(summary.pdqHashes)) in \(output), \(reporter.elapsed)")
        if summary.removedEntries > 0 || report.removals > 0 {
            StandardError.line("\(command): removed \(summary.removedEntries) entries (\(summary.removedRows) rows) named by removals")
        }
        if report.rejected > 0 {
            StandardError.line("\(command): skipped \(report.rejected) malformed rows (use --strict to stop at the first)")
        }
    }
}
