import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires a valid key (`Authorization: Bearer KEY`, `X-API-Key: KEY`, or HTTP basic with KEY as the password) and applies the
/// key's rate limit. Without a key ring the service runs open (loopback use).
///
/// Refusals are logged (at notice: a run of them is someone guessing or a client
/// misconfigured) with the reason and the path, never the key presented; an accepted key's name
/// goes into the request's logger metadata, so that every line the request logs names it.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    /// Whose keys these are: the clients' (screening) or the operator's (metrics, status).
    enum Role: String {
        case client
        case `operator`
    }

    let keys: KeyRing
    let role: Role
    let limiter: RateLimiter

    static let apiKeyHeader = HTTPField.Name("X-API-Key")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Self.presentedKey(request.headers) else {
            refused("no key presented", request, context)
            throw APIError.unauthorized
        }
        guard let key = keys.authenticate(presented) else {
            refused("unknown key", request, context)
            throw role == .operator ? APIError.badOperatorKey : APIError.badKey
        }
        var context = context
        context.keyName = key.name
        context.logger[metadataKey: "key"] = .string(key.name)
        if let rate = key.ratePerSecond, let wait = limiter.take(key: key.name, ratePerSecond: rate) {
            refused("over its rate of \(rate)/s", request, context)
            throw APIError.rateLimited(retryAfter: wait)
        }
        return try await next(request, context)
    }

    private func refused(_ reason: String, _ request: Request, _ context: Context) {
        context.logger.notice("refused: \(reason)", metadata: [
            "keys": .string(role.rawValue),
            // The path is the client's text: bounded, so that a refusal cannot flood the log.
            "path": .string(String(request.uri.path.prefix(100))),
        ])
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let value = headers[.authorization] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
            // HTTP basic with the key as the password (any user name): what clients written
            // for HMA, which has no keys of its own, can send through their HTTP library.
            if parts.count == 2, parts[0].lowercased() == "basic",
               let decoded = Data(base64Encoded: String(parts[1].trimmingCharacters(in: .whitespaces))),
               let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":") {
                return String(credentials[credentials.index(after: colon)...])
            }
            return nil
        }
        return headers[apiKeyHeader]
    }
}

/// Refuses every request to its routes with one error: routes switched off by configuration.
struct RefusalMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    let refusal: APIError

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        throw refusal
    }
}
