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

    func defaults(for input: String) -> RowDefaults {
        RowDefaults(categories: category, sources: [source ?? InputKind.defaultSourceName(input)], added: added.flatMap(parsedTime))
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

    var isEmpty: Bool { removalLists.isEmpty && allowLists.isEmpty }

    /// Reads the removal lists and allowlists into `sink`; their manifest entries.
    func read(into sink: AnnotationSink, feeder: inout RowFeeder, format: ListFormat?) throws -> [DatabaseBuilder.ManifestInput] {
        var inputs: [DatabaseBuilder.ManifestInput] = []
        for (paths, isRemoval) in [(removalLists, true), (allowLists, false)] {
            for path in paths {
                let name = InputKind.defaultSourceName(path)
                let defaultReason = reason ?? "listed in \(name)"
                let resolved = try format ?? ListReader.detectFormat(path: path)
                let defaults = RowDefaults(sources: [name], record: isRemoval ? .removed : .allowed)
                let counted = try feeder.readAnnotations(path, format: resolved, defaults: defaults) { row in
                    if isRemoval {
                        sink.addTombstones(row.tombstones(defaultSource: name, defaultReason: defaultReason))
                    } else {
                        try sink.addAllowEntries(row.allowEntries(defaultSource: name, defaultReason: defaultReason, defaultRadius: allowRadius))
                    }
                }
                inputs.append(.init(name: path, sha256: try? FileSHA256.of(path), format: (isRemoval ? "removals, " : "allowlist, ") + resolved.rawValue,
                                    rows: counted.rows, rejected: counted.rejected))
            }
        }
        return inputs
    }
}

/// Where removals and allowlist entries go: a build or a merge.
protocol AnnotationSink: AnyObject {
    func addTombstones(_ tombstones: [Tombstone])
    func addAllowEntries(_ entries: [AllowEntry]) throws
}

extension DatabaseBuilder: AnnotationSink {}
extension DatabaseMerger: AnnotationSink {}

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
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f s", seconds)
}

func parsedTime(_ text: String) -> Int64? {
    if let seconds = Int64(text) { return ISOTime.range.contains(seconds) ? seconds : nil }
    return ISOTime.parse(text)
}

/// What an input argument is: a database, a list to parse, or images to fingerprint.
enum InputKind {
    case database
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
        if HashDatabase.hasMagic(head) { return .database }
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
/// Records of an export other than items go where they belong: removals and allowlist
/// entries to the builder's, a manifest aside (`restoredManifests`).
struct RowFeeder {
    let builder: DatabaseBuilder
    let strict: Bool
    let command: String
    let progress: ProgressLine? = StandardError.isTerminal ? ProgressLine() : nil
    private(set) var rows = 0
    private(set) var rejected = 0
    private(set) var removals = 0
    private(set) var allowEntries = 0
    /// Manifest records met (an export's), with their creation times.
    private(set) var restoredManifests: [(manifest: String, created: Int64?)] = []
    /// One record per input read, for the build manifest.
    private(set) var inputs: [DatabaseBuilder.ManifestInput] = []
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

    private mutating func accept(_ row: ListRow, defaults: RowDefaults) throws {
        switch row.record {
        case .entry:
            try builder.add(row)
            rows += 1
        case .removed:
            let tombstones = row.tombstones(defaultSource: defaults.sources.first ?? "", defaultReason: "removed")
            builder.addTombstones(tombstones)
            removals += tombstones.count
        case .allowed:
            let entries = row.allowEntries(defaultSource: defaults.sources.first ?? "", defaultReason: "known benign", defaultRadius: PDQ.matchThreshold)
            try builder.addAllowEntries(entries)
            allowEntries += entries.count
        case .manifest:
            restoredManifests.append((row.manifest ?? "", row.created))
        }
        progress?.update("read \(rows) rows, \(rejected) rejected")
    }

    /// Rows made from a scan report and an analyst's labels (see ScanReport.labelledRows).
    mutating func readLabelledScan(report: String, labels: String, defaults: RowDefaults) throws {
        let rowsBefore = rows
        for row in try ScanReport.labelledRows(report: report, labels: labels, defaultSource: defaults.sources.first ?? "scan") {
            var row = row
            if row.added == nil { row.added = defaults.added }
            try accept(row, defaults: defaults)
        }
        inputs.append(.init(name: labels, sha256: try? FileSHA256.of(labels), format: "scan labels", rows: rows - rowsBefore, rejected: 0))
        builder.addManifestInput(inputs.last!)
    }

    mutating func readList(_ path: String, format: ListFormat?, defaults: RowDefaults) throws {
        let rowsBefore = rows
        let rejectedBefore = rejected
        let resolvedFormat = try format ?? ListReader.detectFormat(path: path)
        try ListReader.readInBackground(path: path, format: resolvedFormat, defaults: defaults) { batch in
            for result in batch {
                switch result {
                case .success(let row):
                    do {
                        try accept(row, defaults: defaults)
                    } catch let error as DatabaseBuilder.RowRejected {
                        try reject(RowError(file: path, line: 0, reason: error.reason))
                    }
                case .failure(let error):
                    try reject(error)
                }
            }
        }
        inputs.append(.init(name: path, sha256: try? FileSHA256.of(path), format: resolvedFormat.rawValue,
                            rows: rows - rowsBefore, rejected: rejected - rejectedBefore))
        builder.addManifestInput(inputs.last!)
    }

    /// Reads a removal list or allowlist, handing each row (whatever its record kind, except
    /// manifests) to `body`; counts rows and rejections.
    mutating func readAnnotations(_ path: String, format: ListFormat, defaults: RowDefaults,
                                  _ body: (ListRow) throws -> Void) throws -> (rows: Int, rejected: Int) {
        var read = 0
        let rejectedBefore = rejected
        try ListReader.readInBackground(path: path, format: format, defaults: defaults) { batch in
            for result in batch {
                switch result {
                case .success(let row) where row.record != .manifest:
                    do {
                        try body(row)
                        read += 1
                    } catch let error as DatabaseBuilder.RowRejected {
                        try reject(RowError(file: path, line: 0, reason: error.reason))
                    }
                case .success:
                    continue
                case .failure(let error):
                    try reject(error)
                }
            }
        }
        return (read, rejected - rejectedBefore)
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
                        try accept(row, defaults: defaults)
                    case .failure(let error):
                        try reject(RowError(file: file, line: 0, reason: error.description))
                    }
                } catch {
                    failure = error
                }
            })
        if let failure { throw failure }
        inputs.append(.init(name: path, sha256: nil, format: "images", rows: rows - rowsBefore, rejected: rejected - rejectedBefore))
        builder.addManifestInput(inputs.last!)
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
