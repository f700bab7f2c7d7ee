import Foundation
import HashCore
import Hummingbird

/// /healthz and /readyz (no key needed: load balancers ask them, and they say only ok or not),
/// /v1/info (clients' keys), and /metrics and /status (the operator's keys: every client's match
/// activity, the server's paths and the errors of refused reloads).
struct StatusController {
    let store: DatabaseStore
    let metrics: ServiceMetrics
    let limits: ServiceLimits

    func addOpenRoutes(to router: Router<ServerContext>) {
        router.get("healthz", use: healthz)
        router.get("readyz", use: readyz)
    }

    func addKeyedRoutes(to group: RouterGroup<ServerContext>) {
        group.get("v1/info", use: info)
    }

    /// `statusPath` is v1/status when HMA's routes hold /status.
    func addOperatorRoutes(to group: RouterGroup<ServerContext>, statusPath: String = "status") {
        group.get("metrics", use: exposition)
        group.get(RouterPath(statusPath), use: status)
    }

    @Sendable func healthz(_ request: Request, context: ServerContext) async throws -> Response {
        JSONResponse.make(#"{"status":"alive"}"#)
    }

    /// Ready while a verified database serves, which is from start on (a refused reload leaves
    /// the old one serving). Nothing more: the details are the operator's, at /status.
    @Sendable func readyz(_ request: Request, context: ServerContext) async throws -> Response {
        JSONResponse.make(#"{"ready":true}"#)
    }

    /// What /readyz leaves out, for the operator: what serves, reload counts, and why the last
    /// reload was refused.
    @Sendable func status(_ request: Request, context: ServerContext) async throws -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.member("ready", true)
        json.member("path", store.path)
        writeServing(into: &json)
        writeReloads(into: &json)
        json.endObject()
        return JSONResponse.make(json.output)
    }

    @Sendable func info(_ request: Request, context: ServerContext) async throws -> Response {
        let database = store.current.database
        var json = JSONWriter()
        json.beginObject()
        json.key("database")
        json.beginObject()
        do {
            try DatabaseRecord.writeDescription(of: database, into: &json, includePath: false)
        } catch {
            throw APIError(.internalServerError, code: "database_error", error.description)
        }
        json.endObject()
        writeServing(into: &json)
        json.key("service")
        json.beginObject()
        json.member("version", HashCoreVersion.current)
        json.member("max_body_bytes", limits.maxBodyBytes)
        json.member("max_batch_items", limits.maxBatchItems)
        json.member("max_lookup_hashes", limits.maxLookupHashes)
        json.member("max_pixels", limits.image.maxPixels)
        json.member("max_dimension", limits.image.maxDimension)
        json.member("request_timeout_seconds", Int(limits.requestTimeout.components.seconds))
        json.member("max_threshold", limits.maxThreshold)
        json.member("max_matches_per_item", limits.maxMatchesPerItem)
        json.member("min_quality_floor", limits.minQualityFloor)
        json.member("max_video_body_bytes", limits.maxVideoBodyBytes)
        json.key("max_video_duration_seconds")
        json.double(limits.video.maxDurationSeconds)
        json.member("max_video_frames", limits.video.maxHashedFrames)
        json.key("min_video_query_percent")
        json.double(limits.minVideoQueryPercent)
        json.endObject()
        json.endObject()
        return JSONResponse.make(json.output)
    }

    @Sendable func exposition(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }

    /// `checksum`, `entries` and `loaded_at` of the database now serving.
    private func writeServing(into json: inout JSONWriter) {
        let loaded = store.current
        json.member("checksum", "sha256:" + Hex.encode(loaded.database.checksum, byteCount: 32))
        json.member("entries", loaded.database.entryCount)
        json.member("loaded_at", ISOTime.format(Int64(loaded.loadedAt.timeIntervalSince1970)))
    }

    /// `reloads`, `refused_reloads` and `last_reload` (with its error, which names paths).
    private func writeReloads(into json: inout JSONWriter) {
        let counts = store.counts
        json.member("reloads", counts.reloads)
        json.member("refused_reloads", counts.refusals)
        if let attempt = store.lastAttempt {
            json.key("last_reload")
            json.beginObject()
            json.member("at", ISOTime.format(Int64(attempt.at.timeIntervalSince1970)))
            json.member("ok", attempt.succeeded)
            if let error = attempt.error { json.member("error", error) }
            if let checksum = attempt.checksum { json.member("checksum", "sha256:" + checksum) }
            json.endObject()
        }
    }
}
