import Foundation
import HashCore

/// One thread that runs actions at their deadlines, for the service's request deadlines: a
/// request registers its deadline (a lock and an append, since deadlines arrive in order) and
/// cancels it when it is answered, instead of starting a sleeping task of its own, which cost a
/// tenth of a one-hash lookup's time.
final class DeadlineTimer: Sendable {
    static let shared = DeadlineTimer()

    struct Token: Sendable, Equatable {
        fileprivate let value: UInt64
    }

    private struct Pending {
        let deadline: ContinuousClock.Instant
        let token: UInt64
        let action: @Sendable () -> Void
    }

    private struct State {
        /// Ascending by deadline.
        var pending: [Pending] = []
        var nextToken: UInt64 = 0
        var started = false
    }

    private let state = Monitor(State())

    /// Runs `action` at `deadline` unless `cancel` is called with the token first.
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> Token {
        var startThread = false
        var earliest = false
        let token = state.withLock { state in
            if !state.started {
                state.started = true
                startThread = true
            }
            state.nextToken &+= 1
            let item = Pending(deadline: deadline, token: state.nextToken, action: action)
            var index = state.pending.endIndex
            while index > state.pending.startIndex && state.pending[index - 1].deadline > deadline { index -= 1 }
            state.pending.insert(item, at: index)
            earliest = index == state.pending.startIndex
            return Token(value: item.token)
        }
        if startThread {
            let thread = Thread { [self] in run() }
            thread.name = "hashdb-deadlines"
            thread.start()
        }
        if earliest { state.withLock(wakingWaiters: true) { _ in } }  // the timer thread sleeps too long
        return token
    }

    func cancel(_ token: Token) {
        state.withLock { state in
            // Requests end in about the order they started: the entry is near the front.
            if let index = state.pending.firstIndex(where: { $0.token == token.value }) { state.pending.remove(at: index) }
        }
    }

    private func run() {
        while true {
            let action = state.await { state, now -> Monitor<State>.Step<@Sendable () -> Void> in
                guard let first = state.pending.first else { return .wait }
                guard first.deadline <= now else { return .waitUntil(first.deadline) }
                state.pending.removeFirst()
                return .done(first.action, wakingWaiters: false)
            }
            action()
        }
    }
}
