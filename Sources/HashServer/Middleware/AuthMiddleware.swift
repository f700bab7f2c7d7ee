import HTTPTypes
import Hummingbird

/// Requires a valid API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`) and applies the
/// key's rate limit. Without a key ring the service runs open (loopback use).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    let keys: KeyRing
    let limiter: RateLimiter

    static let apiKeyHeader = HTTPField.Name("X-API-Key")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Self.presentedKey(request.headers) else { throw APIError.unauthorized }
        guard let key = keys.authenticate(presented) else { throw APIError.badKey }
        if let rate = key.ratePerSecond, let wait = limiter.take(key: key.name, ratePerSecond: rate) {
            throw APIError.rateLimited(retryAfter: wait)
        }
        var context = context
        context.keyName = key.name
        return try await next(request, context)
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let value = headers[.authorization] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
        return headers[apiKeyHeader]
    }
}
