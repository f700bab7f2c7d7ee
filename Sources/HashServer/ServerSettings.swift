import Foundation
import HashCore

/// Everything `buildApplication` needs; `hashdb serve` fills it from its options.
public struct ServerSettings: Sendable {
    /// The database file; replacing it (rename) or SIGHUP loads the new one.
    public var databasePath: String
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// API keys; nil serves without authentication (loopback use and tests only).
    public var keys: KeyRing?
    /// Keys for the operator's routes (/metrics, /status), kept apart from the clients' keys:
    /// those routes show every client's match activity and the server's paths and errors.
    /// nil with `keys` set closes them (403); nil without `keys` leaves them open like the rest.
    public var operatorKeys: KeyRing?
    public var limits = ServiceLimits()
    /// How often the database file is checked for replacement; nil: only on SIGHUP.
    public var reloadPollInterval: Duration? = .seconds(2)
    /// Also reload on SIGHUP (off in tests, which run many apps in one process).
    public var reloadOnSIGHUP = true
    /// Connections held open at once; one more is answered 503 `too_many_connections` and
    /// closed. Slow and idle clients then hold a bounded share of the service.
    public var maxConnections = Self.defaultMaxConnections
    public static let defaultMaxConnections = 512
    /// Pixel memory all decodes may hold at once (bytes, as each image's header says it will
    /// need): a decode over it waits (`ServiceLimits.maxMemoryWait`), then is refused 503 `busy`.
    public var pixelMemory = PixelMemoryBudget(capacity: PixelMemoryBudget.defaultCapacity)
    /// Flags entries that match more often than this (`--flood`); nil watches none.
    public var flood: FloodPolicy?
    /// Also serve HMA 2.x's read API (/status, /m/…, /h/hash: docs/HMA.md). hashdb's own
    /// operator status then answers at /v1/status, since HMA's /status is its liveness check.
    public var hmaCompat = false
    /// Threads that decode and hash uploads, so that the request threads never wait on a decode.
    public var hashingThreads: Int

    public init(databasePath: String, hashingThreads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.databasePath = databasePath
        self.hashingThreads = max(1, hashingThreads)
    }
}

/// What one request may ask of the service. Each limit answers with a 4xx naming it (the time
/// limits with 503).
public struct ServiceLimits: Sendable {
    /// Largest request body in bytes (an image, a batch, or a lookup document).
    public var maxBodyBytes: Int = 50 << 20
    /// Largest video uploaded to /v1/check, in bytes (a body is a video when its first bytes
    /// are a video container's; it is hashed from memory, never written to disk).
    public var maxVideoBodyBytes: Int = 512 << 20
    /// What hashing one uploaded video may take on: its duration, frames, frame size and time
    /// (within the request's timeout).
    public var video = VideoLimits(maxDurationSeconds: 2 * 3600, maxHashedFrames: 7_200, maxPixels: 3840 * 2160, timeBudget: .seconds(25))
    /// Lowest `video_query_percent` a request may ask for: near 0, one frame of a stored video
    /// that looks like any frame of the upload would make the whole video a match.
    public var minVideoQueryPercent: Double = 50
    /// Lowest TMK level-1 and level-2 thresholds a request may ask for (Meta's 0.7 and 0.7):
    /// lower, unrelated videos start to match.
    public var minTMKLevel1: Float = TMK.level1Threshold
    public var minTMKLevel2: Float = TMK.level2Threshold
    /// The ffmpeg program TMK+PDQF takes its frames from (uploads' TMK is computed when the
    /// database holds TMKs).
    public var ffmpeg = TMKFrameSource.defaultProgram
    /// Largest number of images in one /v1/check/batch request.
    public var maxBatchItems: Int = 64
    /// Largest number of hashes in one /v1/lookup request.
    public var maxLookupHashes: Int = 1_000
    /// Decode limits (pixels, side, file size) checked from the image header before any pixel buffer exists.
    public var image = DecodeLimits.default
    /// A request still unanswered after this long gets 503.
    public var requestTimeout: Duration = .seconds(30)
    /// Longest a decode waits for pixel memory (within the request's deadline) before its
    /// request is told 503 `busy` with Retry-After: sooner than the timeout, so that a client
    /// of a saturated service hears so and comes back instead of holding a connection.
    public var maxMemoryWait: Duration = .seconds(5)
    /// Largest PDQ distance a request may ask for (`threshold`). PDQ's own convention is 31;
    /// far beyond it every stored hash is "near" an all-zero query, and the answers would hand
    /// out the list itself (ids and distances, from which the hashes can be rebuilt).
    public var maxThreshold: Int = PDQ.matchThreshold
    /// Most matches one item's answer lists; the rest are cut (closest kept) and the answer
    /// says `"truncated": true`.
    public var maxMatchesPerItem: Int = 16
    /// Lowest `min_quality` a request may ask for: below it, blank and near-uniform images
    /// all hash alike and every such stored hash would match any of them.
    public var minQualityFloor: Int = PDQ.qualityThreshold

    public init() {}
}
