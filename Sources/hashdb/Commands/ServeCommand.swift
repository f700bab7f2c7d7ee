import ArgumentParser
import Foundation
import HashCore
import HashServer
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer screening requests over HTTP (for hosting providers checking uploads).",
        discussion: """
            Routes (docs/openapi.yaml describes each in full):
              POST /v1/check          body: image bytes → hashes and matches
              POST /v1/check/batch    multipart/form-data, one image per part → a result per part
              POST /v1/lookup         {"hashes":[{"sha256":…,"pdq":…}]} → a result per hash
              GET  /v1/info           the database serving, its manifest, the service's limits
              GET  /metrics           Prometheus text (operator key)
              GET  /status            what serves, reloads and their errors (operator key)
              GET  /healthz, /readyz  liveness and readiness: ok or not (no key needed)
            The screening routes take ?threshold= (at most --max-threshold), ?dihedral=true, \
            ?min_quality= (at least --min-quality-floor), and repeatable ?category= and ?source= \
            filters; each item lists at most --max-matches-per-item matches.

            Every route but /healthz and /readyz needs an API key (Authorization: Bearer KEY or \
            X-API-Key: KEY) from the --keys file; `hashdb key new NAME` makes one. /metrics and \
            /status need a key from the --operator-keys file instead (same format): they show \
            every client's matches and the server's paths. Without --keys the service runs open, \
            which it allows on a loopback address (a literal one, or localhost) only.

            The database is mapped, verified and then served. Replace it by renaming a new file \
            over the path (as build and merge do) or send SIGHUP: the new file is verified before \
            it serves, requests in flight finish on the old one, and a file that fails \
            verification is refused (the old one keeps serving; /readyz and /metrics say so).

            Uploaded bytes stay in memory for the request only; logs carry decisions, and hashes only of uploads that matched.

            Example:
              hashdb key new provider-a --keys keys.txt > provider-a.key
              hashdb serve --db known.hdb --listen 0.0.0.0:8080 --keys keys.txt
              curl -H "Authorization: Bearer $(cat provider-a.key)" --data-binary @upload.jpg \\
                   http://localhost:8080/v1/check
            """)

    @Option(help: ArgumentHelp("The database to serve.", valueName: "db"))
    var db: String

    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("API key file (lines of NAME sha256:HEX [rate=N]; see hashdb key new).", valueName: "file"))
    var keys: String?

    @Option(help: ArgumentHelp("Operator key file for /metrics and /status (same format as --keys; without it those routes are closed when --keys is given).", valueName: "file"))
    var operatorKeys: String?

    @Option(help: ArgumentHelp("Flag an entry matched more than RATE times within WINDOW (e.g. 500/1h): its matches are marked \"review\": true or suppressed (--flood-action), it is logged, counted in /metrics and listed at /v1/floods until a database without it serves.", valueName: "rate/window"))
    var flood: String?

    @Option(help: ArgumentHelp("What a flooded entry's matches become: review (answered, marked \"review\": true) or suppress (left out).", valueName: "action"))
    var floodAction = "review"

    @Flag(help: "Also serve Hasher-Matcher-Actioner 2.x's read API (/status, /m/lookup, /m/raw_lookup, /h/hash, …) so that HMA clients work unchanged; hashdb's operator /status moves to /v1/status (docs/HMA.md).")
    var hmaCompat = false

    @Flag(help: "Serve without API keys on a non-loopback address (behind a proxy that authenticates).")
    var allowOpenAccess = false

    @Option(help: ArgumentHelp("Largest PDQ threshold a request may ask for (0–256); above it is refused with 400.", valueName: "n"))
    var maxThreshold = ServiceLimits().maxThreshold

    @Option(help: ArgumentHelp("Most matches listed per item; the rest are cut and the answer says \"truncated\".", valueName: "n"))
    var maxMatchesPerItem = ServiceLimits().maxMatchesPerItem

    @Option(help: ArgumentHelp("Lowest min_quality a request may ask for (0–100); below it is refused with 400.", valueName: "n"))
    var minQualityFloor = ServiceLimits().minQualityFloor

    @Option(help: ArgumentHelp("Largest request body.", valueName: "bytes"))
    var maxBodySize = ServiceLimits().maxBodyBytes

    @Option(help: ArgumentHelp("Largest video uploaded to /v1/check (told by its first bytes; hashed from memory).", valueName: "bytes"))
    var maxVideoBodySize = ServiceLimits().maxVideoBodyBytes

    @Option(help: ArgumentHelp("Longest video /v1/check hashes.", valueName: "seconds"))
    var maxVideoDuration = ServiceLimits().video.maxDurationSeconds

    @Option(help: ArgumentHelp("Most frames hashed of one uploaded video (one a second).", valueName: "frames"))
    var maxVideoFrames = ServiceLimits().video.maxHashedFrames

    @Option(help: ArgumentHelp("Seconds one uploaded video may take to hash (answered 503 timeout after).", valueName: "seconds"))
    var videoTimeBudget = ServiceLimits().video.timeBudget.seconds

    @Option(help: ArgumentHelp("Lowest video_query_percent a request may ask for (0–100); below it is refused with 400.", valueName: "percent"))
    var minVideoQueryPercent = ServiceLimits().minVideoQueryPercent

    @Option(help: ArgumentHelp("Lowest TMK level-1 threshold (tmk_level1) a request may ask for.", valueName: "score"))
    var minTMKLevel1 = ServiceLimits().minTMKLevel1

    @Option(help: ArgumentHelp("Lowest TMK level-2 threshold (tmk_level2) a request may ask for.", valueName: "score"))
    var minTMKLevel2 = ServiceLimits().minTMKLevel2

    @Option(help: ArgumentHelp("The ffmpeg program uploads' TMK+PDQF is computed with (when the database holds TMKs).", valueName: "path"))
    var ffmpeg = ServiceLimits().ffmpeg

    @Option(help: ArgumentHelp("Most images in one /v1/check/batch request.", valueName: "n"))
    var maxBatch = ServiceLimits().maxBatchItems

    @Option(help: ArgumentHelp("Most hashes in one /v1/lookup request.", valueName: "n"))
    var maxLookup = ServiceLimits().maxLookupHashes

    @Option(help: ArgumentHelp("Seconds a request may take (reading its body, decoding, matching) before it is answered 503.", valueName: "seconds"))
    var requestTimeout = 30

    @Option(help: ArgumentHelp("Connections held open at once; one more is answered 503 and closed.", valueName: "n"))
    var maxConnections = ServerSettings.defaultMaxConnections

    @Option(help: ArgumentHelp("Pixel memory all decodes may hold at once, as image headers declare it (2 GiB).", valueName: "bytes"))
    var pixelMemory = PixelMemoryBudget.defaultCapacity

    @Option(help: ArgumentHelp("Seconds a decode waits for pixel memory before its request is answered 503 busy.", valueName: "seconds"))
    var memoryWait = Double(ServiceLimits().maxMemoryWait.components.seconds)

    @Option(help: ArgumentHelp("Seconds between checks for a replaced database file (0: only on SIGHUP).", valueName: "seconds"))
    var reloadInterval = 2.0

    @Option(help: "What a database must pass before it serves, at start and on every reload: checksum (every byte is what the writer wrote) or full (also every structure and reference, as hashdb verify; slower).")
    var verify: DatabaseStore.Verification = .checksum

    @Option(help: ArgumentHelp("Threads that decode and hash uploads (default: one per core).", valueName: "n"))
    var hashingThreads: Int?

    @Option(help: "Log level: trace, debug, info (matches and reloads), notice, warning, error.")
    var logLevel = "info"

    @OptionGroup var limitOptions: LimitOptions

    func validate() throws {
        _ = try floodPolicy()
        guard let address = ListenAddress(listen) else {
            throw ValidationError("--listen must be HOST:PORT with a port from 0 to 65535, not '\(listen)'")
        }
        guard maxBodySize > 0, maxBatch > 0, maxLookup > 0, requestTimeout > 0 else {
            throw ValidationError("--max-body-size, --max-batch, --max-lookup and --request-timeout must be positive")
        }
        guard maxConnections > 0, pixelMemory > 0, memoryWait >= 0 else {
            throw ValidationError("--max-connections and --pixel-memory must be positive, --memory-wait 0 or more")
        }
        guard (0...256).contains(maxThreshold) else { throw ValidationError("--max-threshold must be from 0 to 256") }
        guard maxMatchesPerItem > 0 else { throw ValidationError("--max-matches-per-item must be at least 1") }
        guard (0...100).contains(minQualityFloor) else { throw ValidationError("--min-quality-floor must be from 0 to 100") }
        guard maxVideoBodySize > 0, maxVideoDuration > 0, maxVideoFrames > 0, videoTimeBudget > 0 else {
            throw ValidationError("--max-video-body-size, --max-video-duration, --max-video-frames and --video-time-budget must be positive")
        }
        guard (0...100).contains(minVideoQueryPercent) else { throw ValidationError("--min-video-query-percent must be from 0 to 100") }
        guard (-1...1).contains(minTMKLevel1), (-1...1).contains(minTMKLevel2) else {
            throw ValidationError("--min-tmk-level1 and --min-tmk-level2 must be from -1 to 1")
        }
        guard reloadInterval >= 0 else { throw ValidationError("--reload-interval must be 0 or more") }
        if let hashingThreads, hashingThreads < 1 { throw ValidationError("--hashing-threads must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if keys == nil && !allowOpenAccess && !address.isLoopback {
            throw ValidationError("without --keys the service runs open: give --keys, listen on a loopback address, or pass --allow-open-access")
        }
    }

    private func floodPolicy() throws -> FloodPolicy? {
        guard let action = FloodPolicy.Action(rawValue: floodAction) else {
            throw ValidationError("--flood-action is review or suppress, not '\(floodAction)'")
        }
        guard let flood else { return nil }
        do {
            return try FloodPolicy(parsing: flood, action: action)
        } catch {
            throw ValidationError("--flood: \(error.description)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hashdb.serve")
        var settings = ServerSettings(databasePath: db, hashingThreads: hashingThreads ?? ProcessInfo.processInfo.activeProcessorCount)
        guard let address = ListenAddress(listen) else { throw ExitCode(2) }
        settings.host = address.host
        settings.port = address.port
        settings.limits.maxBodyBytes = maxBodySize
        settings.limits.maxBatchItems = maxBatch
        settings.limits.maxLookupHashes = maxLookup
        settings.limits.requestTimeout = .seconds(requestTimeout)
        settings.limits.image = limitOptions.limits
        settings.maxConnections = maxConnections
        settings.hmaCompat = hmaCompat
        settings.flood = try floodPolicy()
        settings.pixelMemory = PixelMemoryBudget(capacity: pixelMemory)
        settings.limits.maxMemoryWait = .milliseconds(Int(memoryWait * 1000))
        settings.limits.maxThreshold = maxThreshold
        settings.limits.maxMatchesPerItem = maxMatchesPerItem
        settings.limits.minQualityFloor = minQualityFloor
        settings.limits.maxVideoBodyBytes = maxVideoBodySize
        settings.limits.video.maxDurationSeconds = maxVideoDuration
        settings.limits.video.maxHashedFrames = maxVideoFrames
        settings.limits.video.timeBudget = .milliseconds(Int64(videoTimeBudget * 1000))
        settings.limits.video.maxPixels = min(settings.limits.video.maxPixels, limitOptions.maxPixels)
        settings.limits.minVideoQueryPercent = minVideoQueryPercent
        settings.limits.minTMKLevel1 = minTMKLevel1
        settings.limits.minTMKLevel2 = minTMKLevel2
        settings.limits.ffmpeg = ffmpeg
        settings.reloadPollInterval = reloadInterval > 0 ? .milliseconds(Int(reloadInterval * 1000)) : nil
        do {
            if let keys {
                settings.keys = try KeyRing(contentsOf: keys)
            } else {
                logger.warning("no --keys: every route is open to anyone who can reach \(listen)")
            }
            if let operatorKeys {
                settings.operatorKeys = try KeyRing(contentsOf: operatorKeys)
            } else if keys != nil {
                logger.notice("no --operator-keys: /metrics and /status are closed")
            }
        } catch {
            StandardError.line("hashdb serve: \(error)")
            throw ExitCode(2)
        }
        let store: DatabaseStore
        do {
            store = try DatabaseStore(path: db, verification: verify)
        } catch {
            StandardError.line("hashdb serve: \(error)")
            throw ExitCode(2)
        }
        logger.info("serving", metadata: ["db": .string(db), "entries": .stringConvertible(store.current.database.entryCount),
                                          "listen": .string(listen)])
        try await buildApplication(settings, store: store, logger: logger).runService()
    }

}

extension DatabaseStore.Verification: ExpressibleByArgument {}
