import HTTPTypes
import HashCore
import Hummingbird
import NIOCore

/// Every refusal the service gives: a status, a stable code and a message naming the problem,
/// sent as `{"error":{"code":…,"message":…}}` plus any fields the caller can still use (the
/// digests and exact matches of an image that could not be decoded, for instance).
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Writes extra members beside "error".
    let extra: (@Sendable (inout JSONWriter) -> Void)?
    var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String,
                extra: (@Sendable (inout JSONWriter) -> Void)? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The whole JSON body of this refusal.
    var body: String {
        var json = JSONWriter()
        json.beginObject()
        writeError(into: &json)
        json.endObject()
        return json.output
    }

    func writeError(into json: inout JSONWriter) {
        json.key("error")
        json.beginObject()
        json.member("code", code)
        json.member("message", message)
        json.endObject()
        extra?(&json)
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code: code, message) }

    static let unauthorized = APIError(.unauthorized, code: "unauthorized",
                                       "an API key is required: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
    static let badKey = APIError(.unauthorized, code: "unauthorized", "the API key is not valid")
    static let badOperatorKey = APIError(.unauthorized, code: "unauthorized", "this route needs an operator key (hashdb serve --operator-keys)")
    static let operatorRoutesClosed = APIError(.forbidden, code: "operator_routes_closed",
                                               "this route is for the operator and is off: the service was started without --operator-keys")

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "body_too_large", "the request body is over the limit of \(limit) bytes")
    }

    static func tooManyHashes(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "too_many_hashes", "a lookup holds at most \(limit) hashes")
    }

    static func tooManyConnections(limit: Int) -> APIError {
        APIError(.serviceUnavailable, code: "too_many_connections", "the service holds its most connections (\(limit)); retry later")
    }

    static let emptyBody = APIError(.badRequest, code: "empty_body", "the request body is empty: send the image bytes")

    static func timeout(_ limit: Duration) -> APIError {
        APIError(.serviceUnavailable, code: "timeout", "no answer within the request timeout of \(limit)")
    }

    static let busy: APIError = {
        var error = APIError(.serviceUnavailable, code: "busy",
                             "the service is decoding as many images as its memory allows and none came free in time; retry later")
        error.headers[.retryAfter] = "1"
        return error
    }()

    static func rateLimited(retryAfter: Duration) -> APIError {
        var error = APIError(.tooManyRequests, code: "rate_limited", "this key is over its request rate; retry later")
        let seconds = max(1, Int(retryAfter.components.seconds) + (retryAfter.components.attoseconds > 0 ? 1 : 0))
        error.headers[.retryAfter] = String(seconds)
        return error
    }
}

enum JSONResponse {
    static func make(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
