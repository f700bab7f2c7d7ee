import Foundation

/// The benchmark's counts, and the table, CSV, JSON and SVG chart made from them.
public struct QualityReport: Sendable {
    public let outcomes: [QualityBenchmark.Outcome]
    public let listedOriginals: Int
    public let heldOutOriginals: Int
    public let maxThreshold: Int
    public let variants: [Variant]
    public let fast: Bool
    public let minQuality: Int

    /// Variants of listed originals that decoded: the ones recall is measured on.
    public func recallQueries(_ variant: Variant) -> [QualityBenchmark.Outcome] {
        outcomes.filter { $0.variant == variant && $0.own != nil }
    }

    /// How many of `variant`'s recall queries match their own original at `threshold`.
    public func recalled(_ variant: Variant, threshold: Int, dihedral: Bool) -> Int {
        recallQueries(variant).filter { (dihedral ? $0.ownDihedral! : $0.own!) <= threshold }.count
    }

    /// Queries (every variant, and the held-out originals) that match a listed original they
    /// do not come from at `threshold`.
    public func falsePositives(threshold: Int, dihedral: Bool, variant: Variant?? = .none) -> Int {
        outcomes.filter { outcome in
            if case .some(let wanted) = variant, outcome.variant != wanted { return false }
            guard let nearest = dihedral ? outcome.nearestOtherDihedral : outcome.nearestOther else { return false }
            return nearest <= threshold
        }.count
    }

    public var queryCount: Int { outcomes.filter { $0.failed == nil }.count }

    /// The largest threshold whose false-positive rate (over all queries) is at most `rate`.
    public func recommendedThreshold(falsePositiveRate rate: Double, dihedral: Bool) -> Int {
        var best = 0
        for threshold in 0...maxThreshold where Double(falsePositives(threshold: threshold, dihedral: dihedral)) <= rate * Double(max(1, queryCount)) {
            best = threshold
        }
        return best
    }

    /// Own-original distances of a variant's recall queries (plain), sorted; `Int.max` for a
    /// variant farther than the search reached.
    public func distances(_ variant: Variant) -> [Int] {
        recallQueries(variant).compactMap(\.own).sorted()
    }

    public func lowQuality(_ variant: Variant?) -> Int {
        outcomes.filter { $0.variant == variant && ($0.quality ?? 100) < PDQ.qualityThreshold }.count
    }

    // MARK: Output

    /// The table people read: per variant, recall at `threshold` (plain and dihedral), own-original
    /// distances (">64" when beyond the search), false positives and low-quality hashes.
    public func table(threshold: Int = PDQ.matchThreshold, falsePositiveRate chosen: Double = 0.001) -> String {
        func row(_ cells: [String]) -> String {
            let widths = [18, 5, 11, 11, 7, 7, 7, 6, 5]
            return zip(cells, widths).enumerated().map { index, pair in
                let padding = String(repeating: " ", count: max(0, pair.1 - pair.0.count))
                return index == 0 ? pair.0 + padding : padding + pair.0
            }.joined(separator: " ")
        }
        var lines = [row(["variant", "n", "recall@\(threshold)", "+dihedral", "median", "p90", "max", "FP", "lowQ"])]
        for variant in variants {
            let n = recallQueries(variant).count
            let distances = distances(variant)
            func percent(_ count: Int) -> String { n == 0 ? "-" : String(format: "%.1f%%", 100 * Double(count) / Double(n)) }
            func shown(_ distance: Int) -> String { distance == .max ? ">\(maxThreshold)" : String(distance) }
            func at(_ fraction: Double) -> String { distances.isEmpty ? "-" : shown(distances[Int(Double(distances.count - 1) * fraction)]) }
            lines.append(row([variant.rawValue, String(n), percent(recalled(variant, threshold: threshold, dihedral: false)),
                              percent(recalled(variant, threshold: threshold, dihedral: true)), at(0.5), at(0.9), at(1),
                              String(falsePositives(threshold: threshold, dihedral: false, variant: .some(variant))), String(lowQuality(variant))]))
        }
        lines.append("")
        lines.append("originals: \(listedOriginals) listed, \(heldOutOriginals) held out; queries: \(queryCount); mode: \(fast ? "fast" : "exact"); minimum quality \(minQuality)")
        for dihedral in [false, true] {
            let fp = falsePositives(threshold: threshold, dihedral: dihedral)
            lines.append("false positives at \(threshold)\(dihedral ? " (dihedral)" : ""): \(fp) of \(queryCount) queries; of them held-out originals: \(falsePositives(threshold: threshold, dihedral: dihedral, variant: .some(nil)))")
        }
        for rate in Set([0.0, 0.001, 0.01, chosen]).sorted() {
            let plain = recommendedThreshold(falsePositiveRate: rate, dihedral: false)
            let dihedral = recommendedThreshold(falsePositiveRate: rate, dihedral: true)
            lines.append(String(format: "recommended threshold at a false-positive rate ≤ %g%%: %d (recall %.1f%%); dihedral: %d (recall %.1f%%)", rate * 100,
                                plain, 100 * overallRecall(threshold: plain, dihedral: false), dihedral, 100 * overallRecall(threshold: dihedral, dihedral: true)))
        }
        return lines.joined(separator: "\n")
    }

    /// Recall over every variant's recall queries together.
    public func overallRecall(threshold: Int, dihedral: Bool) -> Double {
        let total = variants.reduce(0) { $0 + recallQueries($1).count }
        let found = variants.reduce(0) { $0 + self.recalled($1, threshold: threshold, dihedral: dihedral) }
        return total == 0 ? 0 : Double(found) / Double(total)
    }

    /// One row per variant, mode and threshold: recalled, queries, recall, false positives.
    public func csv() -> String {
        var rows = ["variant,mode,threshold,recalled,queries,recall,false_positives"]
        for variant in variants {
            let n = recallQueries(variant).count
            for dihedral in [false, true] {
                for threshold in 0...maxThreshold {
                    let recalled = recalled(variant, threshold: threshold, dihedral: dihedral)
                    rows.append("\(variant.rawValue),\(dihedral ? "dihedral" : "plain"),\(threshold),\(recalled),\(n),"
                                + String(format: "%.4f", n == 0 ? 0 : Double(recalled) / Double(n))
                                + ",\(falsePositives(threshold: threshold, dihedral: dihedral, variant: .some(variant)))")
                }
            }
        }
        return rows.joined(separator: "\n") + "\n"
    }

    /// A summary for plotting and for comparing runs: per variant, recall at 31 and the
    /// distance distribution; overall false positives per threshold and the recommendations.
    public func json() -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("mode", fast ? "fast" : "exact")
        json.member("min_quality", minQuality)
        json.member("listed_originals", listedOriginals)
        json.member("held_out_originals", heldOutOriginals)
        json.member("queries", queryCount)
        json.key("variants")
        json.beginObject()
        for variant in variants {
            json.key(variant.rawValue)
            json.beginObject()
            json.member("queries", recallQueries(variant).count)
            json.member("recalled_at_31", recalled(variant, threshold: 31, dihedral: false))
            json.member("recalled_at_31_dihedral", recalled(variant, threshold: 31, dihedral: true))
            json.member("low_quality", lowQuality(variant))
            json.key("distances")  // -1: beyond the largest threshold searched
            json.beginArray()
            for distance in distances(variant) { json.int(distance == .max ? -1 : distance) }
            json.endArray()
            json.endObject()
        }
        json.endObject()
        json.key("false_positives")
        json.beginArray()
        for threshold in 0...maxThreshold { json.int(falsePositives(threshold: threshold, dihedral: false)) }
        json.endArray()
        json.member("recommended_threshold_fp_0", recommendedThreshold(falsePositiveRate: 0, dihedral: false))
        json.member("recommended_threshold_fp_0_1_percent", recommendedThreshold(falsePositiveRate: 0.001, dihedral: false))
        json.endObject()
        return json.output
    }

    /// Recall against threshold, a line per variant (plain mode), with the false-positive count
    /// as a dashed line on its own axis and the default threshold marked.
    public func svg(dihedral: Bool = false) -> String {
        let width = 960.0, height = 560.0, left = 60.0, right = 220.0, top = 30.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ threshold: Int) -> Double { left + plotWidth * Double(threshold) / Double(maxThreshold) }
        func y(_ fraction: Double) -> Double { top + plotHeight * (1 - fraction) }
        var svg = [String(format: ##"<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">"##, width, height, width, height)]
        svg.append(##"<rect width="100%" height="100%" fill="white"/>"##)
        svg.append(##"<text x="\##(Int(left))" y="18" font-size="14">PDQ recall by threshold (\##(dihedral ? "dihedral" : "plain"), \##(fast ? "fast" : "exact") mode): \##(listedOriginals) listed originals</text>"##)
        for tick in stride(from: 0, through: maxThreshold, by: 8) {
            svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%d</text>"##, x(tick), top, x(tick), top + plotHeight, x(tick), top + plotHeight + 16, tick))
        }
        for step in 0...4 {
            let fraction = Double(step) / 4
            svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%.0f%%</text>"##, left, y(fraction), left + plotWidth, y(fraction), left - 6, y(fraction) + 4, fraction * 100))
        }
        svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="2,3"/><text x="%.1f" y="%.1f">31</text>"##, x(31), top, x(31), top + plotHeight, x(31) + 3, top + 12))
        svg.append(String(format: ##"<text x="%.1f" y="%.1f" text-anchor="middle">threshold (Hamming distance)</text>"##, left + plotWidth / 2, height - 12))
        for (index, variant) in variants.enumerated() {
            let n = recallQueries(variant).count
            guard n > 0 else { continue }
            let hue = Double(index) * 360 / Double(variants.count)
            let color = String(format: "hsl(%.0f,70%%,40%%)", hue)
            let points = (0...maxThreshold).map { String(format: "%.1f,%.1f", x($0), y(Double(recalled(variant, threshold: $0, dihedral: dihedral)) / Double(n))) }
            svg.append(##"<polyline fill="none" stroke-width="1.5" stroke="\##(color)" points="\##(points.joined(separator: " "))"><title>\##(variant.rawValue)</title></polyline>"##)
            let legendY = top + 14 * Double(index)
            svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="2"/><text x="%.1f" y="%.1f">%@</text>"##, width - right + 16, legendY, width - right + 36, legendY, color as NSString, width - right + 40, legendY + 4, variant.rawValue as NSString))
        }
        let maxFP = max(1, falsePositives(threshold: maxThreshold, dihedral: dihedral))
        let fpPoints = (0...maxThreshold).map { String(format: "%.1f,%.1f", x($0), y(Double(falsePositives(threshold: $0, dihedral: dihedral)) / Double(maxFP))) }
        svg.append(##"<polyline fill="none" stroke="#000" stroke-width="1.5" stroke-dasharray="6,3" points="\##(fpPoints.joined(separator: " "))"><title>false positives</title></polyline>"##)
        let fpLegend = top + 14 * Double(variants.count) + 8
        svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="6,3" stroke-width="2"/><text x="%.1f" y="%.1f">false positives (of %d at 64)</text>"##, width - right + 16, fpLegend, width - right + 36, fpLegend, width - right + 40, fpLegend + 4, maxFP))
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }
}
