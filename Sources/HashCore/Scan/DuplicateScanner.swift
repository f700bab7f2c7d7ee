import Foundation
import Synchronization

/// `hashdb scan`: hashes a hotline's derived items and groups them into clusters of the same
/// image, so that an analyst sees each distinct image once and never one already classified.
///
/// Byte-identical files are linked first (same SHA-256), then near duplicates (PDQ within the
/// threshold, across rotations and flips with `dihedral`), transitively. Near links come from
/// the project's own near index, over a temporary database of the scan's hashes; hashes of
/// quality under `minQuality` never form near links.
public final class DuplicateScanner {
    public struct Options: Sendable {
        public var threshold = PDQ.matchThreshold
        public var dihedral = false
        public var minQuality = PDQ.qualityThreshold
        public var jobs = ProcessInfo.processInfo.activeProcessorCount
        public var decoder = ImageDecoder()
        /// Hashes videos (vPDQ); nil: videos get their digests only.
        public var videoHasher: (@Sendable () -> VPDQHasher)? = { VPDQHasher() }
        /// Also computes videos' TMK+PDQF (through the ffmpeg program): videos cluster when
        /// their TMKs match (level 1, then level 2, at TMK's thresholds) too.
        public var tmkSource: TMKFrameSource?
        /// The state file that makes the scan resumable and incremental.
        public var statePath: String?
        public init() {}
    }

    public let options: Options
    private let known: [HashDatabase]

    public init(options: Options, known: [HashDatabase] = []) {
        self.options = options
        self.known = known
    }

    public struct Progress: Sendable {
        public var files = 0
        public var hashed = 0
        public var reused = 0
    }

    /// Hashes (or takes from the state file) every file under `paths`, then clusters them.
    public func scan(_ paths: [String], progress: ((Progress) -> Void)? = nil) throws -> ScanResult {
        var previous: [String: ScanRecord] = [:]
        var state: ScanStateFile?
        if let statePath = options.statePath {
            previous = try ScanStateFile.load(statePath)
            state = try ScanStateFile(appendingTo: statePath)
        }
        var records: [ScanRecord] = []
        var counts = Progress()
        let wantsDihedral = options.dihedral
        let decoder = options.decoder
        let makeVideoHasher = options.videoHasher
        let tmkSource = options.tmkSource
        // Files whose size and modification time match the state are taken from it unread.
        // The state file may lie inside a scanned folder: it is not one of the items.
        let stateFile = options.statePath.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let walk = PathWalker(arguments: paths, standardInput: nil).lazy.filter { path in
            stateFile == nil || URL(fileURLWithPath: path).standardizedFileURL.path != stateFile
        }.map { path -> (String, FileIdentity?, ScanRecord?) in
            let version = FileIdentity(path: path)
            // The state knows files by absolute path, so a scan from another folder finds them;
            // each is taken out as it is used, so that its record is not held twice.
            if let version, var earlier = previous.removeValue(forKey: ScanStateFile.key(path)),
                earlier.size == version.size, earlier.modified == version.modified,
                !wantsDihedral || earlier.pdq == nil || earlier.dihedral.count == DihedralTransform.allCases.count,
                // A video hashed without its frames' variants is hashed again for a dihedral scan.
                !wantsDihedral || earlier.video == nil,
                tmkSource == nil || earlier.video == nil,
                // A video a scan before videos were hashed recorded as "not an image" is hashed now.
                makeVideoHasher == nil || !(earlier.errorCode == "unsupported_format" && earlier.errorMessage?.hasSuffix(" video") == true)
            {
                earlier.path = path
                return (path, version, earlier)
            }
            return (path, version, nil)
        }
        var writeFailure: Error?
        OrderedParallelMap<(String, FileIdentity?, ScanRecord?), ScanRecord>(jobs: options.jobs).run(
            walk,
            makeWorker: { Fingerprinter(decoder: decoder, dihedral: wantsDihedral, videoHasher: makeVideoHasher?(), tmkSource: tmkSource) },
            transform: { fingerprinter, item in
                let (path, version, reused) = item
                if let reused { return reused }
                let outcome = Result { () throws(FileReadError) in try fingerprinter.fingerprint(path: path) }
                return ScanRecord(path: path, size: version?.size ?? 0, modified: version?.modified ?? 0, outcome: outcome)
            },
            emit: { item, record in
                records.append(record)
                counts.files += 1
                if item.2 != nil {
                    counts.reused += 1
                } else {
                    counts.hashed += 1
                    do {
                        try state?.append(record)
                    } catch {
                        writeFailure = writeFailure ?? error
                    }
                }
                if counts.files % 256 == 0 { progress?(counts) }
            })
        try state?.close()
        // The state's records not seen again (files gone since) go before clustering allocates.
        previous = [:]
        if let writeFailure { throw writeFailure }
        progress?(counts)
        var result = try cluster(records)
        result.hashedFiles = counts.hashed
        result.reusedFiles = counts.reused
        return result
    }

    /// Groups records into clusters and marks the known ones.
    public func cluster(_ records: [ScanRecord]) throws -> ScanResult {
        var sets = UnionFind(count: records.count)
        func link(_ a: Int, _ b: Int) { _ = sets.union(sets.find(a), b) }

        // Byte-identical files.
        let byDigest = records.indices.filter { records[$0].digests != nil }
            .sorted { records[$0].digests!.sha256.value < records[$1].digests!.sha256.value }
        for (a, b) in zip(byDigest, byDigest.dropFirst()) where records[a].digests!.sha256 == records[b].digests!.sha256 {
            link(a, b)
        }

        // Near duplicates, through a near index over the scan's own good-quality hashes and
        // its videos' frames: images by PDQ, videos with their re-encodes and cuts by vPDQ's
        // rule, and videos with the images that are frames of them.
        let eligible = records.indices.filter {
            (records[$0].pdq != nil && (records[$0].quality ?? 0) >= options.minQuality) || records[$0].video.map { $0.problem == nil } == true
        }
        if !eligible.isEmpty {
            try withTemporaryDirectory { directory in
                let path = directory + "/scan.hdb"
                let builder = try DatabaseBuilder(destination: path, options: .init(memoryBudget: 128 << 20))
                for index in eligible {
                    var row = ListRow(id: String(index), pdq: records[index].pdq, quality: records[index].quality)
                    row.video = records[index].video
                    if row.video != nil { row.quality = nil }
                    try builder.add(row)
                }
                _ = try builder.write()
                let database = try HashDatabase.open(path: path)
                for (a, b) in try nearLinks(eligible, records: records, database: database) { link(a, b) }
            }
        }

        // Videos whose TMKs match (every pair's level 1, level 2 where it passes).
        let withTMK = records.indices.filter { records[$0].tmk != nil }
        for (position, a) in withTMK.enumerated() {
            for b in withTMK[(position + 1)...] {
                let (first, second) = (records[a].tmk!, records[b].tmk!)
                guard first.level1Score(second) >= TMK.level1Threshold, first.level2Score(second) >= TMK.level2Threshold else { continue }
                link(a, b)
            }
        }

        // Clusters: members by root; id from the smallest member digest; the largest, best member represents.
        var membersOfRoot: [Int: [Int]] = [:]
        for index in records.indices { membersOfRoot[sets.find(index), default: []].append(index) }
        var clusters: [ScanCluster] = []
        var clusterOfRecord = [Int](repeating: 0, count: records.count)
        for members in membersOfRoot.values {
            let representative = members.min { Self.represents(records[$0], better: records[$1]) }!
            var cluster = ScanCluster(id: Self.clusterID(members.map { records[$0] }), members: members, representative: representative)
            cluster.spread = Self.spread(members.map { records[$0] }, around: records[representative], dihedral: options.dihedral)
            cluster.known = try knownMatch(for: members.map { records[$0] })
            clusters.append(cluster)
        }
        // New clusters first (what an analyst must look at), then by id: the same order every run.
        clusters.sort { ($0.known == nil ? 0 : 1, $0.id) < ($1.known == nil ? 0 : 1, $1.id) }
        for (position, cluster) in clusters.enumerated() {
            for member in cluster.members { clusterOfRecord[member] = position }
        }
        return ScanResult(records: records, clusters: clusters, clusterOfRecord: clusterOfRecord, lowQualityThreshold: options.minQuality)
    }

    /// Pairs of records whose PDQ hashes lie within the threshold, found by querying the
    /// scan's own near index with each eligible record, on every core (slices of the records,
    /// each with its own search scratch; the pairs are united afterwards, in order).
    private func nearLinks(_ eligible: [Int], records: [ScanRecord], database: HashDatabase) throws -> [(Int, Int)] {
        let slices = max(1, min(options.jobs * 4, eligible.count / 256))
        let results = SliceResults<(Int, Int)>(count: slices)
        let options = self.options
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let scratch = NearIndex.Scratch()
            var pairs: [(Int, Int)] = []
            do {
                for position in stride(from: slice, to: eligible.count, by: slices) {
                    let index = eligible[position]
                    let record = records[index]
                    if let video = record.video {
                        let matching = MatchOptions(threshold: options.threshold, dihedral: options.dihedral, minQuality: options.minQuality)
                        for match in try database.match(QueryHashes(video: video), options: matching).matches {
                            for id in match.entry.ids {
                                if let other = Int(id), other != index { pairs.append((index, other)) }
                            }
                        }
                        continue
                    }
                    let variants = options.dihedral && record.dihedral.count == 8
                        ? DihedralTransform.allCases.map { (record.dihedral[$0.rawValue], $0) }
                        : [(record.pdq!, DihedralTransform.original)]
                    for hit in database.nearHits(variants, threshold: options.threshold, minQuality: options.minQuality, scratch: scratch) {
                        for id in try database.entry(hit.entry).ids {
                            if let other = Int(id), other != index { pairs.append((index, other)) }
                        }
                    }
                }
                results.set(slice, .success(pairs))
            } catch {
                results.set(slice, .failure(error))
            }
        }
        return try results.all().flatMap { try $0.get() }
    }

    /// "c" and the first 16 hex digits of the smallest SHA-256 among the members (of their
    /// paths, for a cluster of unreadable files): content, not scan order, names a cluster.
    static func clusterID(_ members: [ScanRecord]) -> String {
        if let smallest = members.compactMap({ $0.digests?.sha256 }).min(by: { $0.value < $1.value }) {
            return "c" + smallest.hex.prefix(16)
        }
        let stream = SHA256Stream()
        Array(members.map(\.path).min()!.utf8).withUnsafeBytes { stream.update($0) }
        return "u" + Hex.encode(stream.finish(), byteCount: 32).prefix(16)
    }

    /// The largest PDQ distance of a member from the representative (the smallest over the
    /// representative's rotations and flips with `dihedral`): linking is transitive, so a
    /// cluster can chain images further apart than the threshold; this shows how far.
    static func spread(_ members: [ScanRecord], around representative: ScanRecord, dihedral: Bool) -> Int? {
        guard let center = representative.pdq else { return nil }
        let centers = dihedral && representative.dihedral.count == 8 ? representative.dihedral : [center]
        let distances = members.compactMap { member in member.pdq.map { hash in centers.map { $0.distance(to: hash) }.min()! } }
        return distances.max()
    }

    /// A video before an image (the image is one of its frames; the longest video first), then
    /// the largest, then the highest quality, then the smallest digest (a total order).
    static func represents(_ a: ScanRecord, better b: ScanRecord) -> Bool {
        if (a.video?.frames.count ?? 0) != (b.video?.frames.count ?? 0) { return (a.video?.frames.count ?? 0) > (b.video?.frames.count ?? 0) }
        if a.pixels != b.pixels { return a.pixels > b.pixels }
        if (a.quality ?? -1) != (b.quality ?? -1) { return (a.quality ?? -1) > (b.quality ?? -1) }
        switch (a.digests?.sha256.value, b.digests?.sha256.value) {
        case let (x?, y?) where x != y: return x < y
        default: return a.path < b.path
        }
    }

    /// The best match of any member in the known databases: exact before near, then the smallest distance.
    private func knownMatch(for members: [ScanRecord]) throws -> ScanCluster.KnownMatch? {
        guard !known.isEmpty else { return nil }
        let matchOptions = MatchOptions(threshold: options.threshold, dihedral: options.dihedral, minQuality: options.minQuality)
        var best: ScanCluster.KnownMatch?
        for record in members where record.digests != nil || record.pdq != nil {
            for database in known {
                guard let match = try database.match(record.queryHashes, options: matchOptions).matches.first else { continue }
                let candidate = ScanCluster.KnownMatch(database: database.path, member: record.path, match: match)
                if best == nil || (candidate.match.distance, candidate.member) < (best!.match.distance, best!.member) {
                    best = candidate
                }
            }
        }
        return best
    }

    private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let work = try WorkDirectory(temporaryFor: "scan")
        try body(work.path)
    }
}

public struct ScanCluster: Sendable {
    public struct KnownMatch: Sendable {
        public let database: String
        /// The member that matched.
        public let member: String
        public let match: Match
    }

    public let id: String
    /// Indexes into `ScanResult.records`.
    public let members: [Int]
    public let representative: Int
    public var known: KnownMatch?
    /// How far (PDQ bits) the farthest member lies from the representative.
    public var spread: Int?
}

public struct ScanResult: Sendable {
    public let records: [ScanRecord]
    /// New clusters first, then known ones; by id within each.
    public let clusters: [ScanCluster]
    /// For each record, its cluster's position in `clusters`.
    public let clusterOfRecord: [Int]
    public let lowQualityThreshold: Int
    public var hashedFiles = 0
    public var reusedFiles = 0

    public var unreadable: Int { records.filter { $0.digests == nil }.count }
    public var undecodable: Int { records.filter { $0.digests != nil && $0.pdq == nil && $0.video == nil }.count }
    public var lowQuality: Int { records.filter { $0.pdq != nil && ($0.quality ?? 0) < lowQualityThreshold }.count }
    public var knownClusters: Int { clusters.filter { $0.known != nil }.count }
}

/// The state file, opened for appending (see `ScanStateCodec`).
final class ScanStateFile {
    private let writer: BufferedFileWriter
    private var pending = 0

    init(appendingTo path: String) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        writer = try BufferedFileWriter(appendingTo: path)
        if !exists {
            try writer.write(Array((ScanStateCodec.header + "\n").utf8))
        } else if Self.lastByte(of: path) != UInt8(ascii: "\n") {
            // A line torn by a kill: end it, so that the next record starts a line of its own.
            try writer.write([UInt8(ascii: "\n")])
        }
    }

    private static func lastByte(of path: String) -> UInt8? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end > 0 else { return nil }
        try? handle.seek(toOffset: end - 1)
        return (try? handle.read(upToCount: 1))?.first
    }

    /// The records of a state file, read a line at a time (a million-file state is hundreds of
    /// megabytes: it is never held whole).
    static func load(_ path: String) throws -> [String: ScanRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let reader = try DelimitedReader(path: path, dialect: .lines)
        guard let first = try reader.next(), ([ScanStateCodec.header] + ScanStateCodec.earlierHeaders).contains(first.string(0)) else {
            throw InputError(file: path, reason: "not a hashdb scan state file (its first line is not '\(ScanStateCodec.header)')")
        }
        var records: [String: ScanRecord] = [:]
        while let line = try reader.next() {
            if let record = ScanStateCodec.record(Substring(line.string(0))) { records[record.path] = record }
        }
        return records
    }

    /// The path a state file records: absolute and standardized.
    static func key(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Appends a record (under its absolute path); written through every 64 records, so a
    /// kill loses at most those.
    func append(_ record: ScanRecord) throws {
        var stored = record
        stored.path = Self.key(record.path)
        try writer.write(Array((ScanStateCodec.line(stored) + "\n").utf8))
        pending += 1
        if pending >= 64 {
            try writer.flush()
            pending = 0
        }
    }

    func close() throws { try writer.close() }
}

/// One result per slice of a parallel loop. Invariant: each slot is written once, by the one
/// iteration that owns it, before `all` reads them after the loop has returned.
private final class SliceResults<Element: Sendable>: Sendable {
    private let slots: Mutex<[Result<[Element], any Error>?]>

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
    }

    func set(_ slice: Int, _ result: sending Result<[Element], any Error>) {
        slots.withLock { $0[slice] = result }
    }

    func all() -> [Result<[Element], any Error>] {
        slots.withLock { $0.map { $0 ?? .success([]) } }
    }
}
