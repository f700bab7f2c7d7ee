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

/// A body run on another thread and its result. The body and the result are touched only by
/// that thread until it signals `done`, and by the caller only after waiting on `done`: that
/// makes the @unchecked Sendable sound. The body is let go before the signal, so that it does
/// not outlive `withoutActuallyEscaping`.
private final class ThreadTask<A>: @unchecked Sendable {
    private var body: (() throws -> A)?
    private var result: Result<A, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> A) {
        self.body = body
    }

    func run() {
        result = Result { try body!() }
        body = nil
        done.signal()
    }

    func wait() throws -> A {
        done.wait()
        return try result!.get()
    }
}
