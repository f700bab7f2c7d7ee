/// The JSON fields of a query's answer, shared by `hashdb query` and the HTTP service.
public enum MatchRecord {
    /// `hashes`: what the query was matched with.
    public static func writeHashes(_ query: QueryHashes, into json: inout JSONWriter) {
        json.key("hashes")
        json.beginObject()
        for digest in query.digests {
            json.member(digest.kind.rawValue, digest.hex)
        }
        if let pdq = query.pdq {
            json.member("pdq", pdq.hex)
            if let quality = query.quality {
                json.member("quality", quality)
            }
        }
        if let video = query.video {
            json.member("frames", video.frames.count)
        }
        if let tmk = query.tmk {
            json.member("tmk_frames", Int(tmk.frameCount))
        }
        json.endObject()
    }

    /// `matches` (`truncated` when more matched than were listed, and `near_skipped` when near
    /// matching was not tried).
    public static func writeResult(_ result: MatchResult, into json: inout JSONWriter) {
        json.key("matches")
        json.beginArray()
        for match in result.matches {
            writeMatch(match, into: &json)
        }
        json.endArray()
        if result.truncated {
            json.member("truncated", true)
        }
        if let skipped = result.nearSkipped {
            json.member("near_skipped", skipped)
        }
        if !result.suppressed.isEmpty {
            json.key("suppressed")
            json.beginArray()
            for suppression in result.suppressed {
                json.beginObject()
                json.member("scope", suppression.scope.rawValue)
                json.member("allowlist", suppression.allow.source)
                json.member("kind", suppression.allow.value.kindName)
                json.member("value", suppression.allow.value.text)
                if case .pdq = suppression.allow.value {
                    json.member("distance", suppression.distance)
                    json.member("radius", suppression.allow.radius)
                }
                json.member("reason", suppression.allow.reason)
                json.endObject()
            }
            json.endArray()
        }
        if !result.removals.isEmpty {
            json.key("removed")
            json.beginArray()
            for removal in result.removals {
                json.beginObject()
                json.member("by", removal.source)
                json.member("kind", removal.value.kindName)
                json.member("value", removal.value.text)
                json.member("reason", removal.reason)
                json.endObject()
            }
            json.endArray()
        }
    }

    /// One line a person reads: why the query matched what it did, or nothing.
    public static func explanation(_ result: MatchResult) -> [String] {
        var lines: [String] = []
        for suppression in result.suppressed {
            let what = suppression.scope == .all ? "all matches" : "near matches"
            let distance = suppression.scope == .near ? " (PDQ distance \(suppression.distance), radius \(suppression.allow.radius))" : ""
            lines.append("\(what) suppressed by allowlist \(suppression.allow.source): \(suppression.allow.value.kindName) \(suppression.allow.value.text)\(distance): \(suppression.allow.reason)")
        }
        for removal in result.removals {
            lines.append("removed by \(removal.source): \(removal.value.kindName) \(removal.value.text): \(removal.reason)")
        }
        if let skipped = result.nearSkipped { lines.append("near matching skipped: \(skipped)") }
        if result.matches.isEmpty && lines.isEmpty { lines.append("no match") }
        for match in result.matches {
            let how: String
            switch match.kind {
            case .pdq: how = "PDQ distance \(match.distance)\(match.transform == .original ? "" : " (\(match.transform.name))")"
            case .vpdq:
                how = String(format: "vPDQ, %.2f %% of the query's frames and %.2f %% of the stored video's", match.video?.queryPercent ?? 0,
                             match.video?.comparedPercent ?? 0)
            case .frame:
                let side = match.video?.side == .query ? "the query video" : "the stored video"
                how = "PDQ distance \(match.distance) to \(match.video?.frameCount ?? 0) frames of \(side)"
            case .tmk:
                how = String(format: "TMK+PDQF, level 1 %.4f, level 2 %.4f", match.video?.level1 ?? 0, match.video?.level2 ?? 0)
            case .sha256, .sha1, .md5: how = "\(match.kind.rawValue) exact"
            }
            lines.append("matched \(match.entry.id) by \(how): categories \(match.entry.categories.joined(separator: ";")), sources \(match.entry.sources.joined(separator: ";"))")
        }
        return lines
    }

    public static func writeMatch(_ match: Match, into json: inout JSONWriter) {
        json.beginObject()
        json.member("id", match.entry.id)
        json.member("kind", match.kind.rawValue)
        json.member("distance", match.distance)
        json.member("transform", match.transform.name)
        json.member("categories", strings: match.entry.categories)
        json.member("sources", strings: match.entry.sources)
        if let added = match.entry.added {
            json.member("added", ISOTime.format(added))
        }
        if match.entry.ids.count > 1 {
            json.member("ids", strings: match.entry.ids)
        }
        if let video = match.video { writeVideoMatch(video, into: &json) }
        if match.review { json.member("review", true) }
        json.endObject()
    }

    /// vPDQ percentages, or the frames an image was found in, and the time ranges of both sides.
    static func writeVideoMatch(_ video: VideoMatch, into json: inout JSONWriter) {
        if let level1 = video.level1, let level2 = video.level2 {
            json.member("level1", decimal: String(format: "%.6f", level1))
            json.member("level2", decimal: String(format: "%.6f", level2))
        }
        if let percent = video.queryPercent {
            json.member("query_percent", decimal: String(format: "%.2f", percent))
        }
        if let percent = video.comparedPercent {
            json.member("compared_percent", decimal: String(format: "%.2f", percent))
        }
        if let side = video.side {
            json.member("in", side.rawValue)
            json.member("frame_count", video.frameCount)
            json.key("frames")
            json.beginArray()
            for frame in video.frames {
                json.beginObject()
                json.member("frame", frame.frame)
                json.member("timestamp", decimal: VPDQ.timestampText(frame.timestamp))
                json.member("distance", frame.distance)
                json.endObject()
            }
            json.endArray()
        }
        for (name, ranges) in [("query_ranges", video.queryRanges), ("entry_ranges", video.entryRanges)] where !ranges.isEmpty {
            json.key(name)
            json.beginArray()
            for range in ranges {
                json.beginArray()
                json.decimal(VPDQ.timestampText(range.lowerBound))
                json.decimal(VPDQ.timestampText(range.upperBound))
                json.endArray()
            }
            json.endArray()
        }
    }
}
