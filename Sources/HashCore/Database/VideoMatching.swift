extension VPDQ {
    /// python-threatexchange's vPDQ thresholds: a video matches a stored one when 80 % of its
    /// distinct good frames have a near frame there; the stored video's share may be anything.
    public static let queryMatchPercent = 80.0
    public static let comparedMatchPercent = 0.0
    /// Most frames or time ranges one match lists (a long video of a still image would
    /// otherwise list every frame).
    public static let maximumListedFrames = 100
}

/// How a video match holds: vPDQ's percentages, or the frames where an image appears, and the
/// time ranges of the matching frames.
public struct VideoMatch: Sendable, Equatable {
    public enum Side: String, Sendable {
        /// The frames are the query video's (a stored image appears in it).
        case query
        /// The frames are the stored video's (the query image appears in it).
        case entry
    }

    /// One frame where the match is, and how near.
    public struct Frame: Sendable, Equatable {
        public var frame: Int
        public var timestamp: Double
        public var distance: Int
    }

    /// For `frame` matches: whose frames `frames` are.
    public var side: Side?
    /// For `vpdq` matches: the percentages of the query's and the stored video's distinct
    /// frames (of good quality) that have a near frame on the other side.
    public var queryPercent: Double?
    public var comparedPercent: Double?
    /// Seconds from-to of the runs of matching frames, in the query and in the stored video.
    public var queryRanges: [ClosedRange<Double>] = []
    public var entryRanges: [ClosedRange<Double>] = []
    /// For `frame` matches: the frames, closest first then in order, at most `VPDQ.maximumListedFrames`.
    public var frames: [Frame] = []
    /// How many frames matched (`frames` may list fewer).
    public var frameCount = 0
    /// For `tmk` matches: TMK's level-1 and level-2 scores.
    public var level1: Float?
    public var level2: Float?

    init(level1: Float, level2: Float) {
        self.level1 = level1
        self.level2 = level2
    }

    /// A `frame` match: the matching frames of one side, and their runs as time ranges.
    init(side: Side, frames: [Frame], ranges: [ClosedRange<Double>]) {
        self.side = side
        frameCount = frames.count
        self.frames = Array(frames.sorted { ($0.distance, $0.frame) < ($1.distance, $1.frame) }.prefix(VPDQ.maximumListedFrames))
        if side == .query { queryRanges = ranges } else { entryRanges = ranges }
    }

    init(queryPercent: Double, comparedPercent: Double, queryRanges: [ClosedRange<Double>], entryRanges: [ClosedRange<Double>]) {
        self.queryPercent = queryPercent
        self.comparedPercent = comparedPercent
        self.queryRanges = queryRanges
        self.entryRanges = entryRanges
    }

    /// Runs of matching frames as time ranges: frames that follow each other in the list
    /// (`matched` in frame order) make one range.
    static func ranges(matched: [Bool], timestamps: [Double]) -> [ClosedRange<Double>] {
        var ranges: [ClosedRange<Double>] = []
        var start: Double?
        var end = 0.0
        for (isMatched, time) in zip(matched, timestamps) {
            if isMatched {
                if start == nil { start = time }
                end = time
            } else if let first = start {
                ranges.append(first...end)
                start = nil
            }
        }
        if let first = start { ranges.append(first...end) }
        return Array(ranges.prefix(VPDQ.maximumListedFrames))
    }
}

/// A video's frames as vPDQ compares them: those of quality ≥ the minimum, then each hash
/// once (its first frame), as python-threatexchange's index prepares them.
struct ComparableFrames {
    let good: [VPDQFrame]
    let distinct: [PDQHash]

    /// Hashes that never count as matched (a query's allowlisted frames).
    let excluded: Set<PDQHash>

    init(_ video: StoredVideo, minQuality: Int, excluded: Set<PDQHash> = []) {
        good = video.frames.filter { $0.quality >= minQuality }
        var seen = Set<PDQHash>()
        distinct = good.compactMap { seen.insert($0.hash).inserted ? $0.hash : nil }
        self.excluded = excluded
    }

    /// Distinct hashes that may match.
    var searched: [PDQHash] { excluded.isEmpty ? distinct : distinct.filter { !excluded.contains($0) } }

    /// The distinct hashes within `threshold` of one in `other` (never an excluded one).
    func matchedHashes(against other: [PDQHash], threshold: Int) -> Set<PDQHash> {
        Set(searched.filter { hash in other.contains { $0.distance(to: hash) <= threshold } })
    }

    /// A frame match's frames: each good frame whose hash `distance` places (nil: not near),
    /// with the runs they make.
    func frameMatch(side: VideoMatch.Side, distance: (PDQHash) -> Int?) -> VideoMatch {
        var frames: [VideoMatch.Frame] = []
        var matched: [Bool] = []
        for frame in good {
            let near = excluded.contains(frame.hash) ? nil : distance(frame.hash)
            matched.append(near != nil)
            if let near { frames.append(VideoMatch.Frame(frame: frame.frame, timestamp: frame.timestamp, distance: near)) }
        }
        return VideoMatch(side: side, frames: frames, ranges: VideoMatch.ranges(matched: matched, timestamps: good.map(\.timestamp)))
    }

    /// The runs of good frames whose hashes are in `hashes`, as time ranges.
    func ranges(of hashes: Set<PDQHash>) -> [ClosedRange<Double>] {
        VideoMatch.ranges(matched: good.map { hashes.contains($0.hash) }, timestamps: good.map(\.timestamp))
    }
}

extension StoredVideo {
    /// The video as its `transform` shows it: each frame's hash replaced by that variant (the
    /// frames must carry their 8 variants).
    func transformed(_ transform: DihedralTransform) -> StoredVideo {
        guard transform != .original else { return self }
        var copy = self
        copy.frames = frames.map { frame in
            var turned = frame
            turned.hash = frame.dihedral[transform.rawValue]
            return turned
        }
        return copy
    }

    /// Whether every frame carries its 8 rotations and flips.
    var hasDihedral: Bool { frames.allSatisfy { $0.dihedral.count == DihedralTransform.allCases.count } }
}

extension HashDatabase {
    /// A video query's near matches: stored videos by vPDQ's rule, stored images among its
    /// frames. Each distinct good frame is one near search; only the videos those searches
    /// reach are compared frame by frame. Frames within an allowlisted hash's radius are left
    /// out (and reported). With `dihedral` (and frames hashed with their variants), each of the 8
    /// rotations and flips of the whole video is matched, and the best one reported.
    func videoMatches(_ video: StoredVideo, options: MatchOptions, excluding seen: Set<Int>) throws(DatabaseError)
        -> (matches: [Match], suppressed: [Suppression]) {
        let transforms = options.dihedral && video.hasDihedral ? DihedralTransform.allCases : [.original]
        var nearest: [AllowEntry: Int] = [:]
        var queries: [(transform: DihedralTransform, frames: ComparableFrames)] = []
        for transform in transforms {
            let turned = video.transformed(transform)
            var allowlisted = Set<PDQHash>()
            if allowTable.pdqRange.count > 0 {
                for hash in ComparableFrames(turned, minQuality: options.minQuality).distinct {
                    let allowed = try allowEntries(near: hash)
                    for (entry, distance) in allowed { nearest[entry] = min(nearest[entry] ?? distance, distance) }
                    if !allowed.isEmpty { allowlisted.insert(hash) }
                }
            }
            queries.append((transform, ComparableFrames(turned, minQuality: options.minQuality, excluded: allowlisted)))
        }
        let suppressed = nearest.map { Suppression(allow: $0.key, scope: .near, distance: $0.value) }
            .sorted { ($0.distance, $0.allow) < ($1.distance, $1.allow) }

        // What each search reached: per stored video, the query hashes that have a near frame
        // there (which is the query side of vPDQ's rule: no frame-by-frame pass needed); per
        // stored image, the query hashes near it and how near.
        var videoHits: [Int: [DihedralTransform: Set<PDQHash>]] = [:]
        var imageHits: [Int: [DihedralTransform: [PDQHash: Int]]] = [:]
        for (transform, query) in queries {
            let searched = query.searched
            let hits = nearHits(batch: searched.map { [($0, DihedralTransform.original)] }, threshold: options.threshold, minQuality: options.minQuality)
            for (hash, frameHits) in zip(searched, hits) {
                for hit in frameHits where !seen.contains(hit.entry) {
                    if try entryRecord(hit.entry).isVideo {
                        videoHits[hit.entry, default: [:]][transform, default: []].insert(hash)
                    } else {
                        imageHits[hit.entry, default: [:]][transform, default: [:]][hash] = hit.distance
                    }
                }
            }
        }

        var videoMatches: [Match] = []
        for (candidate, byTransform) in videoHits.sorted(by: { $0.key < $1.key }) {
            // Only the transforms whose query percent passes are compared with the stored frames.
            let passing = queries.compactMap { transform, query -> (DihedralTransform, ComparableFrames, Set<PDQHash>, Double)? in
                guard let reached = byTransform[transform], !query.distinct.isEmpty else { return nil }
                let percent = Double(reached.count) * 100 / Double(query.distinct.count)
                return percent >= options.videoQueryPercent ? (transform, query, reached, percent) : nil
            }
            guard !passing.isEmpty, let stored = try self.video(ofEntry: candidate) else { continue }
            let compared = ComparableFrames(stored, minQuality: options.minQuality)
            guard !compared.distinct.isEmpty else { continue }
            var best: (transform: DihedralTransform, detail: VideoMatch)?
            for (transform, query, reached, queryPercent) in passing {
                let storedMatched = compared.matchedHashes(against: query.searched, threshold: options.threshold)
                let comparedPercent = Double(storedMatched.count) * 100 / Double(compared.distinct.count)
                guard comparedPercent >= options.videoComparedPercent else { continue }
                if let best, (best.detail.queryPercent!, best.detail.comparedPercent!) >= (queryPercent, comparedPercent) { continue }
                best = (transform, VideoMatch(queryPercent: queryPercent, comparedPercent: comparedPercent,
                                              queryRanges: query.ranges(of: reached), entryRanges: compared.ranges(of: storedMatched)))
            }
            guard let best else { continue }
            let entry = try entry(candidate)
            guard passes(entry, options) else { continue }
            videoMatches.append(Match(entry: entry, kind: .vpdq, distance: 0, transform: best.transform, video: best.detail))
        }
        videoMatches.sort {
            ($0.video!.queryPercent!, $0.video!.comparedPercent!, -$0.entry.index) > ($1.video!.queryPercent!, $1.video!.comparedPercent!, -$1.entry.index)
        }

        var frameMatches: [Match] = []
        for (index, byTransform) in imageHits {
            let entry = try entry(index)
            guard passes(entry, options) else { continue }
            // The transform with the closest frame (then the most frames, then the reference's order).
            let ranked = byTransform.map { (transform: $0.key, hashes: $0.value, distance: $0.value.values.min() ?? Int.max) }
                .sorted { ($0.distance, -$0.hashes.count, $0.transform.rawValue) < ($1.distance, -$1.hashes.count, $1.transform.rawValue) }
            guard let chosen = ranked.first, let query = queries.first(where: { $0.transform == chosen.transform })?.frames else { continue }
            frameMatches.append(Match(entry: entry, kind: .frame, distance: chosen.distance, transform: chosen.transform,
                                      video: query.frameMatch(side: .query) { chosen.hashes[$0] }))
        }
        frameMatches.sort { ($0.distance, $0.entry.index) < ($1.distance, $1.entry.index) }
        return (videoMatches + frameMatches, suppressed)
    }
}
