import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Synchronization

/// The HTTP parts an HTTP/1 connection's pipeline carries after Hummingbird's codec, named
/// through its channel type (the parts' own module is not one of this package's dependencies).
typealias RequestPart = HTTP1Channel.Value.InboundPart
typealias ResponsePart = HTTP1Channel.Value.OutboundPart

extension NIOAsyncChannel {
    typealias InboundPart = Inbound
    typealias OutboundPart = Outbound
}

/// How many connections the service holds open at once. A connection over the limit is
/// answered 503 `too_many_connections` (with Retry-After) at its first request and closed:
/// slow clients (a trickled body, a connection kept open and idle) then cost a bounded number
/// of sockets and buffers, never all of them.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    var openConnections: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection in; false (and not counted) when the limit is reached.
    func admit() -> Bool {
        if open.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        open.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }

    /// The handler each new connection's pipeline gets (see `HTTP1Channel.Configuration`).
    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limiter: self) }
}

/// Admits its connection through the limiter when added to the pipeline and lets go when the
/// channel closes; a connection not admitted gets one 503 and is closed.
final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RequestPart
    typealias InboundOut = RequestPart
    typealias OutboundIn = ResponsePart
    typealias OutboundOut = ResponsePart

    private let limiter: ConnectionLimiter
    private var admitted = false
    private var answered = false

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = limiter.admit()
        if admitted {
            context.channel.closeFuture.whenComplete { [limiter] _ in limiter.release() }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if admitted {
            context.fireChannelRead(data)
            return
        }
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        let body = ByteBuffer(string: APIError.tooManyConnections(limit: limiter.limit).body)
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.retryAfter] = "1"
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
