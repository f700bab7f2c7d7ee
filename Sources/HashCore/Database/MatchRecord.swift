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
        json.endObject()
    }

    /// `matches` (and `near_skipped` when near matching was not tried).
    public static func writeResult(_ result: MatchResult, into json: inout JSONWriter) {
        json.key("matches")
        json.beginArray()
        for match in result.matches {
            writeMatch(match, into: &json)
        }
        json.endArray()
        if let skipped = result.nearSkipped {
            json.member("near_skipped", skipped)
        }
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
        json.endObject()
    }
}
