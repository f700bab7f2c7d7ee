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
    ///
    /// Eight stored vectors at a time, one a SIMD lane: each lane sums its own products in index
    /// order, as TMK's scalar loop does, so the scores are TMK's exactly; the lanes only keep
    /// eight additions in flight instead of one.
    @_optimize(speed)
    func tmkLevel1Candidates(_ query: TMKFeatures, threshold: Float) -> [(position: Int, level1: Float)] {
        query.pureAverage.withUnsafeBufferPointer { needle in
            let dimension = TMK.featureDimension
            let queryNorm = TMKFeatures.l2Norm(needle.baseAddress!, count: dimension)
            guard queryNorm > 0 else { return [] }
            var found: [(Int, Float)] = []
            func consider(_ position: Int, dot: Float) {
                let storedNorm = tmk.pureNorm(position)
                guard storedNorm > 0 else { return }
                let score = dot / (queryNorm * storedNorm)
                if score >= threshold { found.append((position, score)) }
            }
            let lanes = 8
            var position = 0
            while position + lanes <= tmk.count {
                var vectors: [UnsafePointer<Float>] = []
                for lane in 0..<lanes { vectors.append(tmk.pureAverage(position + lane)) }
                var sums = SIMD8<Float>.zero
                for k in 0..<dimension {
                    let stored = SIMD8<Float>(vectors[0][k], vectors[1][k], vectors[2][k], vectors[3][k],
                                              vectors[4][k], vectors[5][k], vectors[6][k], vectors[7][k])
                    sums = sums + SIMD8<Float>(repeating: needle[k]) * stored
                }
                for lane in 0..<lanes { consider(position + lane, dot: sums[lane]) }
                position += lanes
            }
            while position < tmk.count {
                consider(position, dot: TMKFeatures.dot(needle.baseAddress!, tmk.pureAverage(position), count: dimension))
                position += 1
            }
            return found
        }
    }
}
