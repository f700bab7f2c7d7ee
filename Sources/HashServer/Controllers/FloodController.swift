import Foundation
import HashCore
import Hummingbird

/// /v1/floods (the operator's keys): the entries `--flood` has flagged, with their counts.
struct FloodController {
    let store: DatabaseStore
    let watch: FloodWatch?

    func addOperatorRoutes(to group: RouterGroup<ServerContext>) {
        group.get("v1/floods", use: floods)
    }

    @Sendable func floods(_ request: Request, context: ServerContext) async throws -> Response {
        guard let watch else {
            throw APIError(.notFound, code: "flood_watch_off", "the service was started without --flood: no entry is watched")
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("threshold", watch.policy.matches)
        json.member("window_seconds", Int(watch.policy.window.components.seconds))
        json.member("action", watch.policy.action.rawValue)
        json.key("entries")
        json.beginArray()
        for flood in watch.floods(database: store.current.database) {
            json.beginObject()
            json.member("id", flood.id)
            json.member("flooded_at", ISOTime.format(Int64(flood.floodedAt.timeIntervalSince1970)))
            json.member("matches", flood.total)
            json.member("matches_in_window", Int(flood.recentRate.rounded()))
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return JSONResponse.make(json.output)
    }
}
