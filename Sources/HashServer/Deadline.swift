import Synchronization

/// Gives a request's work until its deadline, then answers 503 `timeout` without waiting for
/// the work: a client sending its body slowly, a queue of decodes or a long match must not hold
/// a request open past it. The work is cancelled; work that cannot notice (a decode already
/// running in a C library) runs to its end on its own thread and its result is dropped.
enum Deadline {
    static func run<T: Sendable>(_ deadline: ContinuousClock.Instant, timeout: Duration,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let timer = DeadlineTimer.shared.schedule(at: deadline) { race.finish(.failure(APIError.timeout(timeout))) }
                race.start(continuation,
                           work: Task {
                               do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                           },
                           timer: timer)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// Throws 503 `timeout` once `deadline` has passed: for loops that can stop between steps.
    static func check(_ deadline: ContinuousClock.Instant, timeout: Duration) throws(APIError) {
        guard ContinuousClock.now < deadline else { throw APIError.timeout(timeout) }
    }

    /// The first of the work, the timer or a cancellation to finish resumes the request; the
    /// others are cancelled and their outcomes dropped.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var work: Task<Void, Never>?
            var timer: DeadlineTimer.Token?
            var outcome: Result<T, any Error>?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, work: Task<Void, Never>, timer: DeadlineTimer.Token) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                state.work = work
                state.timer = timer
                return nil
            }
            if let early {
                work.cancel()
                DeadlineTimer.shared.cancel(timer)
                continuation.resume(with: early)
            }
        }

        func finish(_ outcome: Result<T, any Error>) {
            let (continuation, work, timer) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?, DeadlineTimer.Token?) in
                guard state.outcome == nil else { return (nil, nil, nil) }
                state.outcome = outcome
                defer { state.continuation = nil; state.work = nil; state.timer = nil }
                return (state.continuation, state.work, state.timer)
            }
            work?.cancel()
            if let timer { DeadlineTimer.shared.cancel(timer) }
            continuation?.resume(with: outcome)
        }
    }
}
