import HashCore
import Synchronization

/// Token buckets, one per API key: a key with rate N may make N requests a second on average
/// and bursts of up to N. Time comes from the caller so that tests can step it.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// Takes one token from `key`'s bucket; nil when allowed, else how long until the next token.
    public func take(key: String, ratePerSecond: Int, now: ContinuousClock.Instant = .now) -> Duration? {
        let rate = Double(ratePerSecond)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: rate, updated: now)
            let elapsed = now - bucket.updated
            let seconds = elapsed.seconds
            bucket.tokens = min(rate, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .seconds((1 - bucket.tokens) / rate)
        }
    }
}
