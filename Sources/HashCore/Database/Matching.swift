/// What a query brings: digests of a file, a PDQ hash, or both.
public struct QueryHashes: Sendable, Equatable {
    public var digests: [Digest]
    public var pdq: PDQHash?
    /// Quality of `pdq`, when known (hashes given as hex have none).
    public var quality: Int?
    /// The 8 dihedral hashes, indexed by `DihedralTransform.rawValue`, when computed from pixels.
    public var dihedral: [PDQHash]
    /// A video's vPDQ frames (a query is an image or a video).
    public var video: StoredVideo?
    /// A video's TMK+PDQF.
    public var tmk: TMKFeatures?

    public init(digests: [Digest] = [], pdq: PDQHash? = nil, quality: Int? = nil, dihedral: [PDQHash] = [], video: StoredVideo? = nil,
                tmk: TMKFeatures? = nil) {
        self.digests = digests
        self.pdq = pdq
        self.quality = quality
        self.dihedral = dihedral
        self.video = video
        self.tmk = tmk
    }

    /// What a list row asks about: its digests, and its PDQ hash or video frames and TMK.
    public init(_ row: ListRow) {
        self.init(digests: row.digests, pdq: row.pdq, quality: row.quality, video: row.video, tmk: row.tmk)
    }

    /// The hashes of a fingerprinted file.
    public init(_ fingerprint: Fingerprint) {
        self.init(digests: fingerprint.digests.all)
        if let image = fingerprint.imageFingerprint {
            pdq = image.pdq.hash
            quality = image.pdq.quality
            dihedral = image.pdq.dihedral
        }
        if case .success(let video)? = fingerprint.video {
            self.video = StoredVideo(video)
        }
        if case .success(let tmk)? = fingerprint.tmk {
            self.tmk = tmk
        }
    }
}

public struct MatchOptions: Sendable, Equatable {
    /// Largest Hamming distance that is a near match (0...256; PDQ's convention is 31).
    public var threshold: Int
    /// Also try the 7 rotations and flips of the query image.
    public var dihedral: Bool
    /// PDQ hashes of lower quality, on either side, are not near-matched (exact digests are).
    public var minQuality: Int
    /// Only entries with one of these categories (all when empty).
    public var categories: Set<String>
    /// Only entries from one of these sources (all when empty).
    public var sources: Set<String>
    /// Also report the removals (tombstones) that name the query's hashes.
    public var explain: Bool
    /// Most matches one query reports (nil: all). The rest are cut, closest kept, and the result
    /// says so: a wide threshold must not turn a query into a way of listing the database.
    public var maxMatches: Int?
    /// A video matches a stored video when at least this percentage of its distinct frames
    /// (of quality ≥ `minQuality`) lie within `threshold` of one of the stored video's…
    public var videoQueryPercent: Double
    /// …and at least this percentage of the stored video's lie within `threshold` of one of its
    /// (python-threatexchange's vPDQ rule: 80 and 0).
    public var videoComparedPercent: Double
    /// A video's TMK+PDQF matches a stored one when the level-1 score (cosine of the pure
    /// averages) and then the level-2 score reach these (Meta's 0.7 and 0.7).
    public var tmkLevel1: Float = TMK.level1Threshold
    public var tmkLevel2: Float = TMK.level2Threshold

    public init(threshold: Int = PDQ.matchThreshold, dihedral: Bool = false, minQuality: Int = PDQ.qualityThreshold,
                categories: Set<String> = [], sources: Set<String> = [], explain: Bool = false, maxMatches: Int? = nil,
                videoQueryPercent: Double = VPDQ.queryMatchPercent, videoComparedPercent: Double = VPDQ.comparedMatchPercent) {
        self.videoQueryPercent = videoQueryPercent
        self.videoComparedPercent = videoComparedPercent
        self.threshold = threshold
        self.dihedral = dihedral
        self.minQuality = minQuality
        self.categories = categories
        self.sources = sources
        self.explain = explain
        self.maxMatches = maxMatches
    }
}

public enum MatchKind: String, Sendable, Codable, CaseIterable {
    case sha256, sha1, md5, pdq
    /// A video like a stored video by vPDQ's rule (`Match.video` has the percentages).
    case vpdq
    /// An image among a video's frames: a stored image in the query video, or the query image
    /// in a stored video (`Match.video` has the frames).
    case frame
    /// A video like a stored video by TMK+PDQF (`Match.video` has both scores).
    case tmk

    init(_ kind: DigestKind) {
        switch kind {
        case .sha256: self = .sha256
        case .sha1: self = .sha1
        case .md5: self = .md5
        }
    }
}

/// One entry a query matched, and how.
public struct Match: Sendable, Equatable {
    public var entry: DatabaseEntry
    public var kind: MatchKind
    /// 0 for exact matches; the Hamming distance for PDQ.
    public var distance: Int
    /// Which rotation or flip of the query matched (`original` unless dihedral).
    public var transform: DihedralTransform
    /// For a video match: how much and where.
    public var video: VideoMatch?
    /// The service marked the entry for review: it matched more often than the operator's flood
    /// threshold allows (hashdb serve --flood), so the match may be a listing error.
    public var review = false

    public init(entry: DatabaseEntry, kind: MatchKind, distance: Int, transform: DihedralTransform, video: VideoMatch? = nil) {
        self.entry = entry
        self.kind = kind
        self.distance = distance
        self.transform = transform
        self.video = video
    }
}

/// An allowlist entry that silenced a query's matches.
public struct Suppression: Sendable, Equatable {
    public enum Scope: String, Sendable {
        /// The query's digest is known-benign: nothing it matched is reported.
        case all
        /// The query's PDQ hash is within the radius of a known-benign one: its near matches
        /// are not reported (exact ones are).
        case near
    }

    public var allow: AllowEntry
    public var scope: Scope
    /// Distance between the query's PDQ hash and the allowlisted one (0 for a digest).
    public var distance: Int
}

public struct MatchResult: Sendable, Equatable {
    /// Exact matches first (SHA-256, SHA-1, MD5), then near matches by distance; each entry once.
    public var matches: [Match]
    /// Why near matching was not tried, when it was not.
    public var nearSkipped: String?
    /// Allowlist entries that silenced matches (the matches they silenced are not listed).
    public var suppressed: [Suppression] = []
    /// With `MatchOptions.explain`: removals that name one of the query's hashes.
    public var removals: [Tombstone] = []
    /// More matched than `MatchOptions.maxMatches`: `matches` holds the first that many.
    public var truncated = false
}

extension HashDatabase {
    public func match(_ query: QueryHashes, options: MatchOptions = MatchOptions()) throws(DatabaseError) -> MatchResult {
        var removals: [Tombstone] = []
        if options.explain {
            for digest in query.digests { removals += try tombstones(for: .digest(digest)) }
            if let hash = query.pdq { removals += try tombstones(for: .pdq(hash)) }
        }
        // A known-benign digest silences everything.
        var suppressed: [Suppression] = []
        for digest in query.digests {
            suppressed += try allowEntries(for: digest).map { Suppression(allow: $0, scope: .all, distance: 0) }
        }
        guard suppressed.isEmpty else {
            return MatchResult(matches: [], nearSkipped: nil, suppressed: suppressed, removals: removals)
        }
        var matches: [Match] = []
        var seen = Set<Int>()
        for kind in DigestKind.allCases {
            guard let digest = query.digests.first(where: { $0.kind == kind }), let index = lookup(digest), !seen.contains(index) else { continue }
            let entry = try entry(index)
            guard passes(entry, options) else { continue }
            seen.insert(index)
            matches.append(Match(entry: entry, kind: MatchKind(kind), distance: 0, transform: .original))
        }
        var nearSkipped: String?
        if let tmk = query.tmk {
            for match in try tmkMatches(tmk, options: options, excluding: seen) {
                seen.insert(match.entry.index)
                matches.append(match)
            }
        }
        if let video = query.video {
            let (near, videoSuppressed) = try videoMatches(video, options: options, excluding: seen)
            suppressed += videoSuppressed
            if near.isEmpty && !video.frames.contains(where: { $0.quality >= options.minQuality }) {
                nearSkipped = "no frame of the video has PDQ quality \(options.minQuality) or more"
            }
            matches += near
            return Self.limited(MatchResult(matches: matches, nearSkipped: nearSkipped, suppressed: suppressed, removals: removals), options)
        }
        if let hash = query.pdq, allowTable.pdqRange.count > 0 {
            // A query near a known-benign image (or, with rotations, one of its rotations) gets no near matches.
            let variants = options.dihedral && query.dihedral.count == 8 ? query.dihedral : [hash]
            var nearest: [AllowEntry: Int] = [:]
            for variant in variants {
                for (entry, distance) in try allowEntries(near: variant) { nearest[entry] = min(nearest[entry] ?? distance, distance) }
            }
            suppressed = nearest.map { Suppression(allow: $0.key, scope: .near, distance: $0.value) }
                .sorted { ($0.distance, $0.allow) < ($1.distance, $1.allow) }
        }
        if let hash = query.pdq, suppressed.isEmpty {
            if let quality = query.quality, quality < options.minQuality {
                nearSkipped = "query PDQ quality \(quality) is below \(options.minQuality)"
            } else {
                var variants = [(hash, DihedralTransform.original)]
                if options.dihedral {
                    if query.dihedral.count == 8 {
                        variants = DihedralTransform.allCases.map { (query.dihedral[$0.rawValue], $0) }
                    } else {
                        nearSkipped = "dihedral matching needs the image, not only its hash: matched the hash as given"
                    }
                }
                var near: [Match] = []
                for hit in nearHits(variants, threshold: options.threshold, minQuality: options.minQuality) where !seen.contains(hit.entry) {
                    let entry = try entry(hit.entry)
                    guard passes(entry, options) else { continue }
                    seen.insert(hit.entry)
                    if let video = try video(ofEntry: hit.entry) {
                        // The image is among a stored video's frames: where.
                        let hashes = variants.map(\.0)
                        let frames = ComparableFrames(video, minQuality: options.minQuality).frameMatch(side: .entry) { stored in
                            let distance = hashes.map { $0.distance(to: stored) }.min() ?? Int.max
                            return distance <= options.threshold ? distance : nil
                        }
                        near.append(Match(entry: entry, kind: .frame, distance: hit.distance, transform: hit.transform, video: frames))
                    } else {
                        near.append(Match(entry: entry, kind: .pdq, distance: hit.distance, transform: hit.transform))
                    }
                }
                near.sort { ($0.distance, $0.transform.rawValue, $0.entry.index) < ($1.distance, $1.transform.rawValue, $1.entry.index) }
                matches += near
            }
        }
        return Self.limited(MatchResult(matches: matches, nearSkipped: nearSkipped, suppressed: suppressed, removals: removals), options)
    }

    /// The result cut to `options.maxMatches`: exact matches come first and near ones by
    /// closeness, so the cut keeps the closest.
    private static func limited(_ result: MatchResult, _ options: MatchOptions) -> MatchResult {
        var result = result
        if let limit = options.maxMatches, result.matches.count > limit {
            result.matches.removeLast(result.matches.count - max(0, limit))
            result.truncated = true
        }
        return result
    }

    func passes(_ entry: DatabaseEntry, _ options: MatchOptions) -> Bool {
        (options.categories.isEmpty || entry.categories.contains(where: options.categories.contains))
            && (options.sources.isEmpty || entry.sources.contains(where: options.sources.contains))
    }

    /// A stored PDQ hash within `threshold` of one of the query's variants: the closest
    /// variant, per entry.
    public struct NearHit: Sendable, Equatable {
        public var entry: Int
        public var distance: Int
        public var transform: DihedralTransform
    }

    /// Every entry with a stored PDQ hash within `threshold` of a variant, skipping stored
    /// hashes of known quality below `minQuality`: through the near-match index when the file
    /// has one and the threshold is within its range, by a scan otherwise.
    public func nearHits(_ variants: [(PDQHash, DihedralTransform)], threshold: Int, minQuality: Int,
                         scratch: NearIndex.Scratch? = nil) -> [NearHit] {
        guard let near, threshold >= 0, threshold <= NearIndex.maximumRadius,
            let hits = near.search(variants.map(\.0), radius: threshold, table: pdq, scratch: scratch ?? NearIndex.Scratch())
        else {
            return nearHitsByScan(variants, threshold: threshold, minQuality: minQuality)
        }
        var best = ClosestHits(table: pdq, minQuality: minQuality)
        for hit in hits {
            // The index lists each distinct hash once: its equal neighbours follow it.
            let hash = pdq.hash(hit.position)
            var position = hit.position
            while position < pdq.count && pdq.hash(position) == hash {
                best.consider(position: position, distance: hit.distance, transform: variants[hit.variant].1)
                position += 1
            }
        }
        return best.sorted
    }

    /// `nearHits` for many queries at once (a scan, a batch of uploads): the index's working
    /// memory is reused from one query to the next.
    public func nearHits(batch: [[(PDQHash, DihedralTransform)]], threshold: Int, minQuality: Int) -> [[NearHit]] {
        let scratch = NearIndex.Scratch()
        return batch.map { nearHits($0, threshold: threshold, minQuality: minQuality, scratch: scratch) }
    }

    /// A scan of every stored hash, whatever the file holds: what the index must agree with.
    public func nearHitsByScan(_ variants: [(PDQHash, DihedralTransform)], threshold: Int, minQuality: Int) -> [NearHit] {
        var best = ClosestHits(table: pdq, minQuality: minQuality)
        for position in 0..<pdq.count {
            let stored = pdq.hash(position)
            for (hash, transform) in variants {
                let distance = stored.distance(to: hash)
                if distance <= threshold {
                    best.consider(position: position, distance: distance, transform: transform)
                }
            }
        }
        return best.sorted
    }
}

/// The closest hit of each entry among PDQ table rows (smallest distance, then the first
/// transform in the reference's order), rows of known quality under `minQuality` left out.
struct ClosestHits {
    let table: PDQTable
    let minQuality: Int
    private var best: [Int: HashDatabase.NearHit] = [:]

    init(table: PDQTable, minQuality: Int) {
        self.table = table
        self.minQuality = minQuality
    }

    mutating func consider(position: Int, distance: Int, transform: DihedralTransform) {
        if let quality = table.quality(position), quality < minQuality { return }
        let entry = table.entry(position)
        if let known = best[entry], (known.distance, known.transform.rawValue) <= (distance, transform.rawValue) { return }
        best[entry] = HashDatabase.NearHit(entry: entry, distance: distance, transform: transform)
    }

    /// Closest first, then by entry.
    var sorted: [HashDatabase.NearHit] { best.values.sorted { ($0.distance, $0.entry) < ($1.distance, $1.entry) } }
}
