import Foundation

/// Runs two independent stages at once: `first` on a thread of its own, `second` on the
/// caller's. Returns when both have; rethrows the first's error, then the second's.
func inParallel<A, B>(_ first: () throws -> A, _ second: () throws -> B) throws -> (A, B) {
    try withoutActuallyEscaping(first) { first in
        let task = ThreadTask(first)
        let thread = Thread { task.run() }
        thread.stackSize = 8 << 20
        thread.start()
        let secondResult = Result { try second() }
        return (try task.wait(), try secondResult.get())
    }
}

/// A body run on another thread and its result. The body is touched only by that thread, and
/// let go before the result is published, so that it does not outlive `withoutActuallyEscaping`;
/// the result passes through the monitor. That makes the @unchecked Sendable sound.
private final class ThreadTask<A>: @unchecked Sendable {
    private var body: (() throws -> A)?
    private let result = Monitor<Result<A, Error>?>(nil)

    init(_ body: @escaping () throws -> A) {
        self.body = body
    }

    func run() {
        let outcome = Result { try body!() }
        body = nil
        result.withLock(wakingWaiters: true) { $0 = outcome }
    }

    func wait() throws -> A {
        try result.await { result, _ in
            result.map { .done($0, wakingWaiters: false) } ?? .wait
        }.get()
    }
}
