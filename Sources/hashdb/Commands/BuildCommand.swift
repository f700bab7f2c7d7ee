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
        for stale in AtomicFile.reclaimStale(for: output) {
            StandardError.line("\(command): removed \(stale), left by an interrupted build")
        }
        let builder = try DatabaseBuilder(destination: output, options: write.builderOptions())
        var feeder = RowFeeder(builder: builder, strict: lists.strict, command: command)
        let reporter = StageReporter(command: command, verbose: write.verbose, progress: feeder.progress, firstStage: "reading inputs")

        for input in inputs {
            switch try InputKind.classify(input) {
            case .list:
                try feeder.readList(input, format: lists.format, defaults: lists.defaults(for: input))
            case .images:
                try feeder.readImages(input, defaults: lists.defaults(for: input), decoder: ImageDecoder(limits: limitOptions.limits), jobs: jobs.count)
            case .database:
                throw ValidationError("\(input) is a database: combine databases with hashdb merge")
            }
        }
        if let scanReport, let labels {
            try feeder.readLabelledScan(report: scanReport, labels: labels, defaults: lists.defaults(for: labels))
        }
        let annotationInputs = try annotations.read(into: builder, feeder: &feeder, format: lists.format)
        for input in annotationInputs { builder.addManifestInput(input) }
        if lists.strict, feeder.rejected > 0 {
            throw ExitCode(2)
        }
        // An export rebuilt on its own gets its manifest back: the same database, byte for byte.
        if inputs.count == 1, annotations.isEmpty, feeder.restoredManifests.count == 1, write.created == nil {
            builder.restoreManifest(feeder.restoredManifests[0].manifest, createdAt: feeder.restoredManifests[0].created)
        }
        builder.setManifestOption("strict", lists.strict ? "true" : "false")
        let summary = try builder.write(progress: reporter.report)
        reporter.finish()
        feeder.reportRejections()
        let digests = DigestKind.allCases.map { "\($0.rawValue) \(summary.digests[$0] ?? 0)" }.joined(separator: ", ")
        StandardError.line("\(command): \(summary.rows) rows → \(summary.entries) entries (\(digests), pdq \(summary.pdqHashes)) in \(output), \(reporter.elapsed)")
        if summary.removedEntries > 0 || feeder.removals > 0 {
            StandardError.line("\(command): removed \(summary.removedEntries) entries (\(summary.removedRows) rows) named by removals")
        }
        if feeder.rejected > 0 {
            StandardError.line("\(command): skipped \(feeder.rejected) malformed rows (use --strict to stop at the first)")
        }
    }
}
