import HashCore
import Hummingbird

/// The query parameters every screening route takes: threshold, dihedral, min_quality,
/// category and source (both repeatable). The operator's limits bound what a request may ask:
/// a request asking past them is refused, never quietly narrowed, so that a client is not left
/// believing a wide search found nothing.
enum MatchParameters {
    static func options(from parameters: Parameters, limits: ServiceLimits) throws(APIError) -> MatchOptions {
        var options = MatchOptions(threshold: min(PDQ.matchThreshold, limits.maxThreshold),
                                   minQuality: max(PDQ.qualityThreshold, limits.minQualityFloor),
                                   maxMatches: limits.maxMatchesPerItem,
                                   videoQueryPercent: max(VPDQ.queryMatchPercent, limits.minVideoQueryPercent))
        options.tmkLevel1 = max(TMK.level1Threshold, limits.minTMKLevel1)
        options.tmkLevel2 = max(TMK.level2Threshold, limits.minTMKLevel2)
        if let text = parameters.get("threshold") {
            guard let value = Int(text), (0...256).contains(value) else {
                throw .badRequest("bad_parameter", "threshold must be a whole number from 0 to 256, not '\(text.prefix(40))'")
            }
            guard value <= limits.maxThreshold else {
                throw .badRequest("threshold_too_high", "threshold may be at most \(limits.maxThreshold) on this service, not \(value)")
            }
            options.threshold = value
        }
        if let text = parameters.get("min_quality") {
            guard let value = Int(text), (0...100).contains(value) else {
                throw .badRequest("bad_parameter", "min_quality must be a whole number from 0 to 100, not '\(text.prefix(40))'")
            }
            guard value >= limits.minQualityFloor else {
                throw .badRequest("min_quality_too_low", "min_quality may be no lower than \(limits.minQualityFloor) on this service, not \(value)")
            }
            options.minQuality = value
        }
        if let text = parameters.get("dihedral") {
            switch text.lowercased() {
            case "", "1", "true", "yes": options.dihedral = true
            case "0", "false", "no": options.dihedral = false
            default: throw .badRequest("bad_parameter", "dihedral must be true or false, not '\(text.prefix(40))'")
            }
        }
        if let text = parameters.get("video_query_percent") {
            guard let value = Double(text), value.isFinite, (0...100).contains(value) else {
                throw .badRequest("bad_parameter", "video_query_percent must be a number from 0 to 100, not '\(text.prefix(40))'")
            }
            guard value >= limits.minVideoQueryPercent else {
                throw .badRequest("video_query_percent_too_low",
                                  "video_query_percent may be no lower than \(limits.minVideoQueryPercent) on this service, not \(value)")
            }
            options.videoQueryPercent = value
        }
        if let text = parameters.get("video_compared_percent") {
            guard let value = Double(text), value.isFinite, (0...100).contains(value) else {
                throw .badRequest("bad_parameter", "video_compared_percent must be a number from 0 to 100, not '\(text.prefix(40))'")
            }
            options.videoComparedPercent = value
        }
        for (name, floor, apply) in [("tmk_level1", limits.minTMKLevel1, { (value: Float, options: inout MatchOptions) in options.tmkLevel1 = value }),
                                     ("tmk_level2", limits.minTMKLevel2, { (value: Float, options: inout MatchOptions) in options.tmkLevel2 = value })] {
            guard let text = parameters.get(name) else { continue }
            guard let value = Float(text), value.isFinite, (-1...1).contains(value) else {
                throw .badRequest("bad_parameter", "\(name) must be a number from -1 to 1, not '\(text.prefix(40))'")
            }
            guard value >= floor else {
                throw .badRequest("\(name)_too_low", "\(name) may be no lower than \(floor) on this service, not \(value)")
            }
            apply(value, &options)
        }
        options.categories = Set(parameters.getAll("category"))
        options.sources = Set(parameters.getAll("source"))
        return options
    }
}
