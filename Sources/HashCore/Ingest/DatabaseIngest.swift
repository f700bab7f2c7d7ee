/// Inputs and a policy in, a database out: the build and the nightly merge as a library call.
/// The commands parse arguments into an `IngestInputs` and an `IngestPolicy`, call one of these,
/// and print the report; anything else a build or merge decides is decided here.
public enum DatabaseIngest {
    public struct BuildReport: Sendable, Equatable {
        public var summary: DatabaseBuilder.Summary
        /// Rows read and rows rejected (skipped, the policy not being strict).
        public var rows: Int
        public var rejected: Int
        /// Removals and allowlist entries found among the items (an export's).
        public var removals: Int
        public var allowEntries: Int
        /// One record per input, as the manifest lists them.
        public var inputs: [DatabaseBuilder.ManifestInput]
        /// Whether the output took its manifest from the one export it was built from.
        public var restoredManifest: Bool
    }

    /// Builds a database from lists, image files and folders, a labelled scan, removals and
    /// allowlists, written to `destination` by rename (a database being replaced stays intact).
    ///
    /// An export rebuilt on its own, with nothing added and no creation time asked for, gets
    /// the manifest it carries back: the same database, byte for byte.
    public static func build(_ inputs: IngestInputs, to destination: String, policy: IngestPolicy,
                             options: DatabaseBuilder.Options = .init(), events: IngestEvents = .init()) throws(BuildError) -> BuildReport {
        for stale in AtomicFile.reclaimStale(for: destination) { events.reclaimed(stale) }
        return try BuildError.mapping {
            let builder = try DatabaseBuilder(destination: destination, options: options)
            var ingest = RowIngest(policy: policy, events: events)
            for item in inputs.items {
                switch try InputKind.classify(item) {
                case .list: try ingest.readList(item, into: builder)
                case .images: try ingest.readImages(item, into: builder)
                case .database: throw BuildError.input(InputError(file: item, reason: "a database: combine databases with a merge"))
                }
            }
            if let scan = inputs.labelledScan {
                try ingest.readLabelledScan(scan, into: builder)
            }
            for input in try ingest.readAnnotations(removals: inputs.removals, allowlists: inputs.allowlists, into: builder) {
                builder.addManifestInput(input)
            }
            let restoresManifest = inputs.items.count == 1 && inputs.removals.isEmpty && inputs.allowlists.isEmpty
                && ingest.restoredManifests.count == 1 && options.createdAt == nil
            if restoresManifest {
                builder.restoreManifest(ingest.restoredManifests[0].manifest, createdAt: ingest.restoredManifests[0].created)
            }
            builder.setManifestOption("strict", policy.strict ? "true" : "false")
            let summary = try builder.write(progress: events.progress)
            return BuildReport(summary: summary, rows: ingest.rows, rejected: ingest.rejected, removals: ingest.removals,
                               allowEntries: ingest.allowEntries, inputs: ingest.inputs, restoredManifest: restoresManifest)
        }
    }

    public struct MergeReport: Sendable, Equatable {
        public var summary: DatabaseMerger.Summary
        /// Inputs that were databases, and the rest (lists, images).
        public var databases: Int
        public var lists: Int
        /// Rows read from the lists and images, and rows rejected among them.
        public var listRows: Int
        public var listRejected: Int
        /// Rows rejected among the removal lists and allowlists.
        public var annotationRejected: Int
    }

    /// Combines databases and lists (anything a build reads) into one database by `operation`.
    /// Databases are taken as they are. Lists are built into databases first, in a working
    /// folder: for a union all of them into one; for the other operations each list into its
    /// own (which side an entry is on matters there).
    public static func merge(_ inputs: IngestInputs, operation: DatabaseMerger.Operation = .union,
                             sourceFilter: DatabaseMerger.SourceFilter = .init(), to destination: String, policy: IngestPolicy,
                             options: DatabaseBuilder.Options = .init(), events: IngestEvents = .init()) throws(BuildError) -> MergeReport {
        if let scan = inputs.labelledScan {
            throw .input(InputError(file: scan.labels, reason: "labels of a scan go into a build, not a merge"))
        }
        for stale in AtomicFile.reclaimStale(for: destination) { events.reclaimed(stale) }
        return try BuildError.mapping {
            let merger = try DatabaseMerger(destination: destination, options: options)
            merger.sourceFilter = sourceFilter
            var staging = options
            staging.nearIndexTables = 0
            var pendingLists: [String] = []
            var listRows = 0
            var listRejected = 0
            func stagePendingLists() throws {
                guard !pendingLists.isEmpty else { return }
                let path = "\(merger.scratchDirectory)/lists-\(Int.random(in: 0..<Int.max)).hdb"
                let builder = try DatabaseBuilder(destination: path, options: staging)
                var ingest = RowIngest(policy: policy, events: events)
                for input in pendingLists {
                    if try InputKind.classify(input) == .images {
                        try ingest.readImages(input, into: builder)
                    } else {
                        try ingest.readList(input, into: builder)
                    }
                }
                _ = try builder.write()
                merger.add(try HashDatabase.open(path: path), verifyChecksum: false)
                for input in ingest.inputs { merger.addManifestInput(input) }
                listRows += ingest.rows
                listRejected += ingest.rejected
                pendingLists = []
            }
            var databases = 0
            for item in inputs.items {
                switch try InputKind.classify(item) {
                case .database:
                    if operation != .union { try stagePendingLists() }
                    let database = try HashDatabase.open(path: item)
                    merger.add(database)
                    merger.addManifestInput(.init(name: item, sha256: Hex.encode(database.checksum, byteCount: 32), format: "hashdb",
                                                  rows: database.entryCount, rejected: 0))
                    databases += 1
                case .list, .images:
                    pendingLists.append(item)
                    if operation != .union { try stagePendingLists() }
                }
            }
            try stagePendingLists()

            var annotations = RowIngest(policy: policy, events: events)
            for input in try annotations.readAnnotations(removals: inputs.removals, allowlists: inputs.allowlists, into: merger) {
                merger.addManifestInput(input)
            }
            if !sourceFilter.keep.isEmpty { merger.setManifestOption("keep-source", sourceFilter.keep.sorted().joined(separator: ";")) }
            if !sourceFilter.drop.isEmpty { merger.setManifestOption("drop-source", sourceFilter.drop.sorted().joined(separator: ";")) }
            let summary = try merger.write(operation, progress: events.progress)
            return MergeReport(summary: summary, databases: databases, lists: inputs.items.count - databases,
                               listRows: listRows, listRejected: listRejected, annotationRejected: annotations.rejected)
        }
    }
}
