extension HashDatabase {
    /// Stored TMKs like `query`: an exact scan of every stored pure average (level 1, the
    /// cosine, in place in the mapped file), then level 2 for those at or above
    /// `options.tmkLevel1`; those at or above `options.tmkLevel2` match, best level 2 first.
    func tmkMatches(_ query: TMKFeatures, options: MatchOptions, excluding seen: Set<Int>) throws(DatabaseError) -> [Match] {
        let candidates = tmkLevel1Candidates(query, threshold: options.tmkLevel1)
        var matches: [Match] = []
        for (position, level1) in candidates {
            let index = tmk.entry(position)
            guard !seen.contains(index) else { continue }
            let level2 = query.level2Score(cosines: tmk.cosines(position), sines: tmk.sines(position))
            guard level2 >= options.tmkLevel2 else { continue }
            let entry = try entry(index)
            guard passes(entry, options) else { continue }
            matches.append(Match(entry: entry, kind: .tmk, distance: 0, transform: .original, video: VideoMatch(level1: level1, level2: level2)))
        }
        return matches.sorted { ($0.video!.level2!, -$0.entry.index) > ($1.video!.level2!, -$1.entry.index) }
    }

    /// Positions of the stored TMKs whose level-1 score is at least `threshold`, with it.
    @_optimize(speed)
    func tmkLevel1Candidates(_ query: TMKFeatures, threshold: Float) -> [(position: Int, level1: Float)] {
        query.pureAverage.withUnsafeBufferPointer { needle in
            let dimension = TMK.featureDimension
            let queryNorm = TMKFeatures.l2Norm(needle.baseAddress!, count: dimension)
            guard queryNorm > 0 else { return [] }
            var found: [(Int, Float)] = []
            for position in 0..<tmk.count {
                let storedNorm = tmk.pureNorm(position)
                guard storedNorm > 0 else { continue }
                let score = TMKFeatures.dot(needle.baseAddress!, tmk.pureAverage(position), count: dimension) / (queryNorm * storedNorm)
                if score >= threshold { found.append((position, score)) }
            }
            return found
        }
    }
}
