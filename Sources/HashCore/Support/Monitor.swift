import Foundation

/// State that threads wait on: a `Mutex` keeps two threads out of a value at once but cannot
/// put one to sleep until another changes it; a monitor can. The project's rule: plain
/// exclusion over Sendable state takes a `Mutex` (Synchronization); every wait for another
/// thread — a queue between threads, a budget, a timer, a thread's result — and state that
/// hands non-Sendable objects from thread to thread (the owner states how) go through this
/// one type.
///
/// `@unchecked Sendable`: `state` is read and written only inside `withLock` and `await`,
/// with `condition` locked; that is the whole of the invariant, and no other code can reach it.
public final class Monitor<State>: @unchecked Sendable {
    private let condition = NSCondition()
    private var state: State

    public init(_ state: State) {
        self.state = state
    }

    /// What an `await` step decided: done with a result (waking the other waiters when the
    /// step changed what they wait for), or wait for a change, or for one until an instant.
    public enum Step<Result> {
        case done(Result, wakingWaiters: Bool)
        case wait
        case waitUntil(ContinuousClock.Instant)
    }

    /// Runs `body` with the state locked; with `wakingWaiters`, wakes every thread waiting in
    /// `await` afterwards, so that they look at the state again.
    public func withLock<Result>(wakingWaiters: Bool = false, _ body: (inout State) throws -> Result) rethrows -> Result {
        condition.lock()
        defer {
            if wakingWaiters { condition.broadcast() }
            condition.unlock()
        }
        return try body(&state)
    }

    /// Runs `step` with the state locked, again each time another thread wakes the waiters
    /// (or the instant it asked for passes), until it is done.
    public func await<Result>(_ step: (inout State, ContinuousClock.Instant) -> Step<Result>) -> Result {
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch step(&state, .now) {
            case .done(let result, let wakingWaiters):
                if wakingWaiters { condition.broadcast() }
                return result
            case .wait:
                condition.wait()
            case .waitUntil(let instant):
                let left = ContinuousClock.now.duration(to: instant)
                if left > .zero { _ = condition.wait(until: Date(timeIntervalSinceNow: left.seconds)) }
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for a `Date`, a rate, a log line).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
