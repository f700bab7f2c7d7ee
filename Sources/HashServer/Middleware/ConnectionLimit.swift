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

    /// The handler each new connection's pipeline gets (see `HTTP1Channel.Configuration`):
    /// it also gives each request's body until `bodyTimeout` after its head to arrive whole.
    func handler(bodyTimeout: Duration) -> ConnectionGuardHandler { ConnectionGuardHandler(limiter: self, bodyTimeout: bodyTimeout) }
}

/// Two limits on a connection, kept on its event loop where they cost a field and a scheduled
/// task rather than a Swift task a request:
/// - it is admitted through the limiter when added to the pipeline and let go when the
///   channel closes; a connection not admitted gets one 503 `too_many_connections` and is closed;
/// - a request whose body has not arrived whole within `bodyTimeout` of its head (a trickled
///   or stalled body, on any route, read or not) gets 503 `timeout`, or just the close when
///   its answer has already started, and the connection is closed.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RequestPart
    typealias InboundOut = RequestPart
    typealias OutboundIn = ResponsePart
    typealias OutboundOut = ResponsePart

    private let limiter: ConnectionLimiter
    private let bodyTimeout: TimeAmount
    private let timeout: Duration
    private var admitted = false
    private var answered = false
    /// Armed from a request's head to its end.
    private var bodyTimer: Scheduled<Void>?
    /// A response head was written since the request being read began.
    private var responding = false

    init(limiter: ConnectionLimiter, bodyTimeout: Duration) {
        self.limiter = limiter
        timeout = bodyTimeout
        let (seconds, attoseconds) = bodyTimeout.components
        self.bodyTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = limiter.admit()
        if admitted {
            context.channel.closeFuture.whenComplete { [limiter] _ in limiter.release() }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        bodyTimer?.cancel()
        bodyTimer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        bodyTimer?.cancel()
        bodyTimer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else {
            refuse(context, data)
            return
        }
        switch unwrapInboundIn(data) {
        case .head:
            responding = false
            bodyTimer?.cancel()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            bodyTimer = context.eventLoop.scheduleTask(in: bodyTimeout) {
                let (handler, context) = loopBound.value
                handler.bodyTimedOut(context)
            }
        case .body:
            break
        case .end:
            bodyTimer?.cancel()
            bodyTimer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { responding = true }
        context.write(data, promise: promise)
    }

    private func bodyTimedOut(_ context: ChannelHandlerContext) {
        bodyTimer = nil
        guard !responding else {
            context.close(promise: nil)
            return
        }
        responding = true
        answerAndClose(context, APIError.timeout(timeout), retryAfter: false)
    }

    private func refuse(_ context: ChannelHandlerContext, _ data: NIOAny) {
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        answerAndClose(context, APIError.tooManyConnections(limit: limiter.limit), retryAfter: true)
    }

    private func answerAndClose(_ context: ChannelHandlerContext, _ error: APIError, retryAfter: Bool) {
        let body = ByteBuffer(string: error.body)
        var head = HTTPResponse(status: error.status)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        if retryAfter { head.headerFields[.retryAfter] = "1" }
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
