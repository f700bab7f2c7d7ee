import Foundation

/// One thread that runs actions at their deadlines, for the service's request deadlines: a
/// request registers its deadline (a lock and an append, since deadlines arrive in order) and
/// cancels it when it is answered, instead of starting a sleeping task of its own, which cost a
/// tenth of a one-hash lookup's time.
///
/// `@unchecked Sendable`: `pending`, `nextToken` and `waiting` are only touched with
/// `condition` locked; actions run on the timer thread, outside the lock.
final class DeadlineTimer: @unchecked Sendable {
    static let shared = DeadlineTimer()

    struct Token: Sendable, Equatable {
        fileprivate let value: UInt64
    }

    private struct Pending {
        let deadline: ContinuousClock.Instant
        let token: UInt64
        let action: @Sendable () -> Void
    }

    private let condition = NSCondition()
    /// Ascending by deadline.
    private var pending: [Pending] = []
    private var nextToken: UInt64 = 0
    private var started = false

    /// Runs `action` at `deadline` unless `cancel` is called with the token first.
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> Token {
        condition.lock()
        defer { condition.unlock() }
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "hashdb-deadlines"
            thread.start()
        }
        nextToken &+= 1
        let item = Pending(deadline: deadline, token: nextToken, action: action)
        var index = pending.endIndex
        while index > pending.startIndex && pending[index - 1].deadline > deadline { index -= 1 }
        pending.insert(item, at: index)
        if index == pending.startIndex { condition.signal() }  // a new earliest deadline
        return Token(value: item.token)
    }

    func cancel(_ token: Token) {
        condition.lock()
        defer { condition.unlock() }
        // Requests end in about the order they started: the entry is near the front.
        if let index = pending.firstIndex(where: { $0.token == token.value }) { pending.remove(at: index) }
    }

    private func run() {
        condition.lock()
        while true {
            guard let first = pending.first else {
                condition.wait()
                continue
            }
            let now = ContinuousClock.now
            if first.deadline <= now {
                pending.removeFirst()
                condition.unlock()
                first.action()
                condition.lock()
            } else {
                let wait = now.duration(to: first.deadline)
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
        }
    }
}
