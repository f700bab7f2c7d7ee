/// Where removals and allowlist entries go: a builder or a merger.
public protocol AnnotationSink: AnyObject {
    func addTombstones(_ tombstones: [Tombstone])
    func addAllowEntries(_ entries: [AllowEntry]) throws
}

extension DatabaseBuilder: AnnotationSink {}
extension DatabaseMerger: AnnotationSink {}

/// Reads inputs into a builder under a policy: counts rows and rejections, hands each
/// rejection to the caller, and under a strict policy stops at the first. Records of an export
/// other than items go where they belong: removals and allowlist entries to the builder, a
/// manifest aside (`restoredManifests`).
struct RowIngest {
    let policy: IngestPolicy
    let events: IngestEvents
    private(set) var rows = 0
    private(set) var rejected = 0
    private(set) var removals = 0
    private(set) var allowEntries = 0
    /// Manifest records met (an export's), with their creation times.
    private(set) var restoredManifests: [(manifest: String, created: Int64?)] = []
    /// One record per input read, for the manifest.
    private(set) var inputs: [DatabaseBuilder.ManifestInput] = []

    init(policy: IngestPolicy, events: IngestEvents) {
        self.policy = policy
        self.events = events
    }

    private mutating func reject(_ error: RowError) throws(BuildError) {
        rejected += 1
        events.rejected(error)
        if policy.strict { throw .row(error) }
    }

    private mutating func accept(_ row: ListRow, into builder: DatabaseBuilder, defaults: RowDefaults, file: String) throws {
        do {
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
        } catch let error as DatabaseBuilder.RowRejected {
            try reject(RowError(file: file, line: row.line, reason: error.reason))
        }
        events.rowsRead(rows, rejected)
    }

    private mutating func recordInput(_ input: DatabaseBuilder.ManifestInput, in builder: DatabaseBuilder) {
        inputs.append(input)
        builder.addManifestInput(input)
    }

    /// Rows made from a scan report and an analyst's labels (see `ScanReport.labelledRows`).
    mutating func readLabelledScan(_ scan: IngestInputs.LabelledScan, into builder: DatabaseBuilder) throws {
        let defaults = policy.defaults(for: scan.labels)
        let rowsBefore = rows
        for row in try ScanReport.labelledRows(report: scan.report, labels: scan.labels, defaultSource: defaults.sources.first ?? "scan") {
            var row = row
            if row.added == nil { row.added = defaults.added }
            try accept(row, into: builder, defaults: defaults, file: scan.labels)
        }
        recordInput(.init(name: scan.labels, sha256: try? Hex.encode(FileDigest.sha256(path: scan.labels), byteCount: 32),
                          format: "scan labels", rows: rows - rowsBefore, rejected: 0), in: builder)
    }

    mutating func readList(_ path: String, into builder: DatabaseBuilder) throws {
        let defaults = policy.defaults(for: path)
        let rowsBefore = rows
        let rejectedBefore = rejected
        let format = try policy.format ?? ListReader.detectFormat(path: path)
        let digest = try ListReader.readInBackground(path: path, format: format, defaults: defaults) { batch in
            for result in batch {
                switch result {
                case .success(let row): try accept(row, into: builder, defaults: defaults, file: path)
                case .failure(let error): try reject(error)
                }
            }
        }
        recordInput(.init(name: path, sha256: Hex.encode(digest, byteCount: 32), format: format.rawValue,
                          rows: rows - rowsBefore, rejected: rejected - rejectedBefore), in: builder)
    }

    /// Reads the removal lists and allowlists into `sink`; their manifest entries.
    mutating func readAnnotations(removals: [String], allowlists: [String], into sink: AnnotationSink) throws -> [DatabaseBuilder.ManifestInput] {
        var inputs: [DatabaseBuilder.ManifestInput] = []
        for (paths, isRemoval) in [(removals, true), (allowlists, false)] {
            for path in paths {
                let name = InputKind.defaultSourceName(path)
                let defaultReason = policy.annotationReason ?? "listed in \(name)"
                let format = try policy.format ?? ListReader.detectFormat(path: path)
                let defaults = RowDefaults(sources: [name], record: isRemoval ? .removed : .allowed)
                var read = 0
                let rejectedBefore = rejected
                let digest = try ListReader.readInBackground(path: path, format: format, defaults: defaults) { batch in
                    for result in batch {
                        switch result {
                        case .success(let row) where row.record != .manifest:
                            do {
                                if isRemoval {
                                    sink.addTombstones(row.tombstones(defaultSource: name, defaultReason: defaultReason))
                                } else {
                                    try sink.addAllowEntries(row.allowEntries(defaultSource: name, defaultReason: defaultReason,
                                                                              defaultRadius: policy.allowRadius))
                                }
                                read += 1
                            } catch let error as DatabaseBuilder.RowRejected {
                                try reject(RowError(file: path, line: row.line, reason: error.reason))
                            }
                        case .success:
                            continue
                        case .failure(let error):
                            try reject(error)
                        }
                    }
                }
                inputs.append(.init(name: path, sha256: Hex.encode(digest, byteCount: 32),
                                    format: (isRemoval ? "removals, " : "allowlist, ") + format.rawValue,
                                    rows: read, rejected: rejected - rejectedBefore))
            }
        }
        return inputs
    }

    /// Fingerprints images and videos (in parallel) into rows: digests always, PDQ when an image
    /// decodes, vPDQ frames when a video does; a `.tmk` file among them is a video's TMK (named by
    /// the file), not an unknown file.
    mutating func readImages(_ path: String, into builder: DatabaseBuilder) throws {
        let defaults = policy.defaults(for: path)
        let decoder = ImageDecoder(limits: policy.decodeLimits)
        let videoLimits = VideoLimits(maxPixels: policy.decodeLimits.maxPixels)
        let rowsBefore = rows
        let rejectedBefore = rejected
        var failure: Error?
        OrderedParallelMap<String, Result<ListRow, RowError>>(jobs: policy.jobs).run(
            PathWalker(arguments: [path], standardInput: nil),
            makeWorker: { Fingerprinter(decoder: decoder, videoHasher: VPDQHasher(limits: videoLimits)) },
            transform: { fingerprinter, file in Self.row(of: file, fingerprinter: fingerprinter) },
            emit: { file, outcome in
                guard failure == nil else { return }
                do {
                    switch outcome {
                    case .success(var row):
                        defaults.apply(to: &row)
                        try accept(row, into: builder, defaults: defaults, file: file)
                    case .failure(let error):
                        try reject(error)
                    }
                } catch {
                    failure = error
                }
            })
        if let failure { throw failure }
        recordInput(.init(name: path, sha256: nil, format: "images", rows: rows - rowsBefore, rejected: rejected - rejectedBefore), in: builder)
    }

    /// One file of a folder as a row.
    static func row(of file: String, fingerprinter: Fingerprinter) -> Result<ListRow, RowError> {
        do {
            let fingerprint = try fingerprinter.fingerprint(path: file)
            // A file that is neither image nor video may be a `.tmk` (looked at only then: the
            // images of a folder are read once).
            if fingerprint.video == nil, case .failure(.unsupportedFormat) = fingerprint.image, TMKFile.starts(path: file) {
                var found: Result<ListRow, RowError> = .failure(RowError(file: file, line: nil, reason: "no TMK in the file"))
                _ = try Importers.readTMK(path: file, defaults: RowDefaults()) { found = $0 }
                return found
            }
            var row = ListRow(digests: fingerprint.digests.all)
            if let image = fingerprint.imageFingerprint {
                row.pdq = image.pdq.hash
                row.quality = image.pdq.quality
            }
            if let video = fingerprint.videoFingerprint, !video.frames.isEmpty {
                row.video = StoredVideo(video)
            }
            return .success(row)
        } catch let error as FileReadError {
            return .failure(RowError(file: file, line: nil, reason: error.description))
        } catch {
            return .failure(RowError(file: file, line: nil, reason: "\(error)"))
        }
    }
}
