import Hummingbird

/// Per-request state: which API key made the request (for rate limits and logs).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var keyName: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
