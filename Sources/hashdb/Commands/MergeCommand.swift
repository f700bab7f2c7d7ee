import ArgumentParser
import Foundation
import HashCore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine databases and lists into one database: the nightly rebuild.",
        discussion: """
            Inputs are databases and lists (anything hashdb build reads). Entries that share a \
            digest become one, with the union of their categories and sources and the earliest \
            added time, exactly as a build of all the rows would make them.

            --remove LIST takes entries out for good: the removals are kept in the output, so \
            that no later merge or build from it, with however old a list, brings them back. \
            --allow LIST records known-benign hashes (a wrongly listed logo, NSRL's software \
            files): queries with their digests match nothing, and queries within a PDQ hash's \
            radius get no near matches; hashdb query --explain says so. Both carry over from \
            every input database.

            The output is written next to DB and renamed over it when complete, so a server \
            reading DB sees the old file or the new one, never a part. Memory is bounded: \
            about 8 bytes an input entry plus --memory.

            Examples:
              hashdb merge -o tonight.hdb yesterday.hdb hotline-new.csv police.jsonl
              hashdb merge -o tonight.hdb --remove false-positives.csv --allow nsrl.db yesterday.hdb
              hashdb merge -o ours.hdb --drop-source ncmec all.hdb
            """)

    @OptionGroup var merge: MergeOptions

    func validate() throws {
        guard !merge.inputs.isEmpty else { throw ValidationError("name at least one input database or list") }
    }

    func run() throws {
        try merge.run(.union, command: "hashdb merge")
    }
}

struct SubtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subtract",
        abstract: "What the first input has and the others do not (by digest; --near also by PDQ).",
        discussion: """
            Writes the entries of the first input that share no digest with any later input. \
            With --near R, entries with a PDQ hash within R of a PDQ hash of the later inputs go \
            too. Nothing is removed for good: a later merge with the subtracted list brings its \
            entries back (use merge --remove for removals that stick).

            Example:
              hashdb subtract -o new-tonight.hdb tonight.hdb yesterday.hdb
            """)

    @OptionGroup var merge: MergeOptions

    @Option(help: ArgumentHelp("Also subtract entries whose PDQ hash lies within this distance of one on the other side (0–\(NearIndex.maximumRadius)).", valueName: "bits"))
    var near: Int?

    func validate() throws {
        guard merge.inputs.count >= 2 else { throw ValidationError("name the input to subtract from, then at least one to subtract") }
        if let near, !(0...NearIndex.maximumRadius).contains(near) {
            throw ValidationError("--near must be from 0 to \(NearIndex.maximumRadius)")
        }
    }

    func run() throws {
        try merge.run(.difference(nearRadius: near), command: "hashdb subtract")
    }
}

struct IntersectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intersect",
        abstract: "What every input has (by digest), with the labels of all of them.",
        discussion: """
            Writes the entries found, by digest, in every input (at most 8), merged as hashdb \
            merge merges them.

            Example:
              hashdb intersect -o both.hdb hotline.hdb police.hdb
            """)

    @OptionGroup var merge: MergeOptions

    func validate() throws {
        guard (2...8).contains(merge.inputs.count) else { throw ValidationError("name 2 to 8 inputs") }
    }

    func run() throws {
        try merge.run(.intersection, command: "hashdb intersect")
    }
}

/// What merge, subtract and intersect share: inputs, output, lists, removals, source filters.
struct MergeOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("The database file to write.", valueName: "db"))
    var output: String

    @Option(name: .customLong("keep-source"), help: ArgumentHelp("Keep only entries from this source (repeatable).", valueName: "name"))
    var keepSources: [String] = []

    @Option(name: .customLong("drop-source"), help: ArgumentHelp("Take this source off every entry; entries left with no source go (repeatable).", valueName: "name"))
    var dropSources: [String] = []

    @OptionGroup(title: "Lists") var lists: ListInputOptions
    @OptionGroup(title: "Removals and allowlists") var annotations: AnnotationListOptions
    @OptionGroup var write: WriteOptions
    @OptionGroup var jobs: JobsOption
    @OptionGroup var limitOptions: LimitOptions

    @Argument(help: ArgumentHelp("Databases, hash lists, images and image directories.", valueName: "input"))
    var inputs: [String] = []

    /// A database input that cannot be used (damaged, its checksum failing, unreadable) is
    /// named on standard error and ends the run with status 2; nothing is written.
    func run(_ operation: DatabaseMerger.Operation, command: String) throws {
        let progress = StandardError.isTerminal ? ProgressLine() : nil
        let reporter = StageReporter(command: command, verbose: write.verbose, progress: progress, firstStage: "reading inputs")
        let rejections = RejectionReport(command: command, progress: progress)
        let request = IngestInputs(items: inputs, removals: annotations.removalLists, allowlists: annotations.allowLists)
        let policy = lists.policy(annotations: annotations, limits: limitOptions.limits, jobs: jobs.count)
        let filter = DatabaseMerger.SourceFilter(keep: Set(keepSources), drop: Set(dropSources))
        let report = try rejections.run { () throws(BuildError) in
            try DatabaseIngest.merge(request, operation: operation, sourceFilter: filter, to: output, policy: policy,
                                     options: write.builderOptions(), events: rejections.events(reporter: reporter))
        }
        reporter.finish()
        rejections.finish()

        let summary = report.summary
        let digests = DigestKind.allCases.map { "\($0.rawValue) \(summary.digests[$0] ?? 0)" }.joined(separator: ", ")
        var lines = ["\(report.databases) databases and \(report.lists) lists (\(report.listRows) rows, \(report.listRejected) rejected) → \(summary.entries) entries (\(digests), pdq \(summary.pdqHashes)) in \(output), \(reporter.elapsed)"]
        lines.append("\(summary.inputEntries) input entries: \(summary.mergedEntries) merged into another input's, "
                     + "\(summary.removedEntries) removed (the database carries \(summary.tombstones) removals), \(summary.filteredEntries) left out by source")
        if operation != .union {
            lines.append("\(summary.droppedEntries) left out by the \(operation == .intersection ? "intersection" : "subtraction")")
        }
        lines.append("allowlist: \(summary.allowEntries) hashes; \(summary.allowlistedEntries) entries carry an allowlisted digest (their matches are suppressed)")
        if report.annotationRejected > 0 || report.listRejected > 0 {
            lines.append("rejected \(report.annotationRejected + report.listRejected) malformed rows (listed above; --strict stops at the first)")
        }
        for line in lines { StandardError.line("\(command): \(line)") }
    }
}
