import Foundation
import HashCore
import Hummingbird

/// /healthz and /readyz (no key needed: load balancers ask them), /v1/info and /metrics.
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
        group.get("metrics", use: exposition)
    }

    @Sendable func healthz(_ request: Request, context: ServerContext) async throws -> Response {
        JSONResponse.make(#"{"status":"alive"}"#)
    }

    /// Ready while a verified database serves; says whether the last reload was refused (the
    /// old database then keeps serving, and this stays ready).
    @Sendable func readyz(_ request: Request, context: ServerContext) async throws -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.member("ready", true)
        writeServing(into: &json)
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
            try DatabaseRecord.writeDescription(of: database, into: &json)
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
        json.endObject()
        json.endObject()
        return JSONResponse.make(json.output)
    }

    @Sendable func exposition(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }

    /// `checksum`, `loaded_at` and `last_reload` of the database now serving.
    private func writeServing(into json: inout JSONWriter) {
        let loaded = store.current
        json.member("checksum", "sha256:" + Hex.encode(loaded.database.checksum, byteCount: 32))
        json.member("entries", loaded.database.entryCount)
        json.member("loaded_at", ISOTime.format(Int64(loaded.loadedAt.timeIntervalSince1970)))
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
