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
            (2024-05-01T12:00:00Z) or seconds since 1970.

            Rows that share a digest become one entry, with the union of their categories and \
            sources and the earliest added time. A malformed row is reported with its file and \
            line and skipped; --strict stops at the first one instead.

            The output is written to a temporary file next to DB and renamed over it when \
            complete: a database being replaced stays intact until then. Memory is bounded \
            (external sorts in a working directory next to DB): --memory sets the sort buffers.

            Examples:
              hashdb build --output known.hdb --source nl-hotline --category A1 hotline.csv
              hashdb build --output known.hdb police.jsonl ncmec-pdq.tsv reviewed-images/
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("The database file to write.", valueName: "db"))
    var output: String

    @Option(help: ArgumentHelp("Source (list name) for rows that name none. Default: each input's file name.", valueName: "name"))
    var source: String?

    @Option(help: ArgumentHelp("Category for rows that name none (repeatable).", valueName: "category"))
    var category: [String] = []

    @Option(help: ArgumentHelp("Added time for rows that give none.", valueName: "date"))
    var added: String?

    @Option(help: ArgumentHelp("Record this creation time in the header ('now' or a date); by default none, so that the same inputs give the same bytes.", valueName: "time"))
    var created: String?

    @Option(help: "Read every list input as this format instead of guessing: csv, tsv or jsonl.")
    var format: ListFormatArgument?

    @Flag(help: "Stop at the first malformed row (nothing is written).")
    var strict = false

    @Option(help: ArgumentHelp("Memory for sort buffers, in MiB (the build needs about this plus 8 bytes a row).", valueName: "MiB"))
    var memory: Int = 1024

    @Flag(help: "Report each stage of the build, with its time, on standard error.")
    var verbose = false

    @OptionGroup var jobs: JobsOption
    @OptionGroup var limitOptions: LimitOptions

    @Argument(help: ArgumentHelp("Hash lists, image files and image directories.", valueName: "input"))
    var inputs: [String] = []

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("name at least one input list, image or directory") }
        guard memory >= 16 else { throw ValidationError("--memory must be at least 16 (MiB)") }
        if let added, parsedTime(added) == nil { throw ValidationError("--added '\(added)' is not a date or time") }
        if let created, created != "now", parsedTime(created) == nil {
            throw ValidationError("--created '\(created)' is not 'now', a date or a time")
        }
    }

    func run() throws {
        let start = ContinuousClock.now
        for stale in AtomicFile.reclaimStale(for: output) {
            StandardError.line("hashdb build: removed \(stale), left by an interrupted build")
        }
        let createdAt = created.map { $0 == "now" ? Int64(Date().timeIntervalSince1970) : parsedTime($0)! }
        let builder = try DatabaseBuilder(destination: output, options: .init(memoryBudget: memory << 20, createdAt: createdAt))
        var feeder = RowFeeder(builder: builder, strict: strict, command: "hashdb build")
        let defaultsAdded = added.flatMap(parsedTime)

        for input in inputs {
            let defaults = RowDefaults(categories: category, sources: [source ?? InputKind.defaultSourceName(input)], added: defaultsAdded)
            switch try InputKind.classify(input) {
            case .list:
                try feeder.readList(input, format: format?.format, defaults: defaults)
            case .images:
                try feeder.readImages(input, defaults: defaults, decoder: ImageDecoder(limits: limitOptions.limits), jobs: jobs.count)
            }
        }
        if strict, feeder.rejected > 0 {
            throw ExitCode(2)
        }
        builder.setManifestOption("strict", strict ? "true" : "false")
        var stageStart = start
        var stageName = "reading inputs"
        let summary = try builder.write { stage in
            if verbose {
                StandardError.line("hashdb build: \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
                stageStart = ContinuousClock.now
                stageName = stage
            }
            feeder.progress?.update(stage)
        }
        if verbose {
            StandardError.line("hashdb build: \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
        }
        feeder.progress?.finish()
        feeder.reportRejections()
        let digests = DigestKind.allCases.map { "\($0.rawValue) \(summary.digests[$0] ?? 0)" }.joined(separator: ", ")
        StandardError.line("hashdb build: \(summary.rows) rows → \(summary.entries) entries (\(digests), pdq \(summary.pdqHashes)) in \(output), \(formatSeconds(ContinuousClock.now - start))")
        if feeder.rejected > 0 {
            StandardError.line("hashdb build: skipped \(feeder.rejected) malformed rows (use --strict to stop at the first)")
        }
    }
}

enum ListFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case csv, tsv, jsonl
    var format: ListFormat { ListFormat(rawValue: rawValue)! }
}

func formatSeconds(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f s", seconds)
}

func parsedTime(_ text: String) -> Int64? {
    if let seconds = Int64(text) { return ISOTime.range.contains(seconds) ? seconds : nil }
    return ISOTime.parse(text)
}

/// What an input argument is: a list to parse, or images to fingerprint.
enum InputKind {
    case list
    case images

    static func classify(_ path: String) throws -> InputKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, reason: "no such file or directory")
        }
        if isDirectory.boolValue { return .images }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(file: path, reason: "cannot be read")
        }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        return head.withUnsafeBytes { ImageFormat.detect($0) } != nil ? .images : .list
    }

    /// "hotline" for hotline.csv or a directory called hotline.
    static func defaultSourceName(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        return name.isEmpty ? url.lastPathComponent : name
    }
}

/// Reads inputs into a builder: counts, reports and (with --strict) stops at rejected rows.
struct RowFeeder {
    let builder: DatabaseBuilder
    let strict: Bool
    let command: String
    let progress: ProgressLine? = StandardError.isTerminal ? ProgressLine() : nil
    private(set) var rows = 0
    private(set) var rejected = 0
    private var shownRejections: [String] = []
    static let shownRejectionLimit = 20

    init(builder: DatabaseBuilder, strict: Bool, command: String) {
        self.builder = builder
        self.strict = strict
        self.command = command
    }

    mutating func reject(_ error: RowError) throws {
        rejected += 1
        if shownRejections.count < Self.shownRejectionLimit {
            shownRejections.append(error.description)
            progress?.finish()
            StandardError.line("\(command): \(error.description)")
        }
        if strict {
            StandardError.line("\(command): stopped at the first malformed row (--strict); nothing written")
            throw ExitCode(2)
        }
    }

    func reportRejections() {
        if rejected > shownRejections.count {
            StandardError.line("\(command): … and \(rejected - shownRejections.count) more malformed rows")
        }
    }

    mutating func add(_ row: ListRow) throws {
        try builder.add(row)
        rows += 1
        progress?.update("read \(rows) rows, \(rejected) rejected")
    }

    mutating func readList(_ path: String, format: ListFormat?, defaults: RowDefaults) throws {
        let rowsBefore = rows
        let rejectedBefore = rejected
        let resolvedFormat = try format ?? ListReader.detectFormat(path: path)
        try ListReader.readInBackground(path: path, format: resolvedFormat, defaults: defaults) { batch in
            for result in batch {
                switch result {
                case .success(let row):
                    try add(row)
                case .failure(let error):
                    try reject(error)
                }
            }
        }
        builder.addManifestInput(.init(name: path, sha256: try? FileSHA256.of(path), format: resolvedFormat.rawValue,
                                       rows: rows - rowsBefore, rejected: rejected - rejectedBefore))
    }

    /// Fingerprints images (in parallel) into rows: digests always, PDQ when the image decodes.
    mutating func readImages(_ path: String, defaults: RowDefaults, decoder: ImageDecoder, jobs: Int) throws {
        let rowsBefore = rows
        let rejectedBefore = rejected
        var failure: Error?
        OrderedParallelMap<String, Result<Fingerprint, FileReadError>>(jobs: jobs).run(
            PathWalker(arguments: [path], standardInput: nil),
            makeWorker: { Fingerprinter(decoder: decoder) },
            transform: { fingerprinter, file in Result { () throws(FileReadError) in try fingerprinter.fingerprint(path: file) } },
            emit: { file, outcome in
                guard failure == nil else { return }
                do {
                    switch outcome {
                    case .success(let fingerprint):
                        var row = ListRow(digests: fingerprint.digests.all)
                        if let image = fingerprint.imageFingerprint {
                            row.pdq = image.pdq.hash
                            row.quality = image.pdq.quality
                        }
                        defaults.apply(to: &row)
                        try add(row)
                    case .failure(let error):
                        try reject(RowError(file: file, line: 0, reason: error.description))
                    }
                } catch {
                    failure = error
                }
            })
        if let failure { throw failure }
        builder.addManifestInput(.init(name: path, sha256: nil, format: "images", rows: rows - rowsBefore, rejected: rejected - rejectedBefore))
    }
}

enum FileSHA256 {
    static func of(_ path: String) throws -> String {
        let reader = try BufferedFileReader(path: path, bufferSize: 4 << 20)
        let digest = SHA256Stream()
        while let chunk = try reader.readAvailable(maximum: 4 << 20) {
            digest.update(chunk)
        }
        return Hex.encode(digest.finish(), byteCount: 32)
    }
}
