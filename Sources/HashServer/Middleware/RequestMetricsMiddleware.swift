import HTTPTypes
import Hummingbird

/// Counts every request by route and status and times it, refusals included.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(route: Self.route(context), status: response.status.code, duration: .now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: Self.route(context), status: status, duration: .now - start)
            throw error
        }
    }

    /// The matched route pattern, never the raw path (which a client could vary without end).
    static func route(_ context: Context) -> String {
        context.endpointPath ?? "unmatched"
    }
}
