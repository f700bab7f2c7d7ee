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
                race.start(continuation,
                           work: Task {
                               do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                           },
                           timer: Task {
                               try? await Task.sleep(until: deadline, clock: .continuous)
                               race.finish(.failure(APIError.timeout(timeout)))
                           })
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
            var tasks: [Task<Void, Never>] = []
            var outcome: Result<T, any Error>?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                state.tasks = [work, timer]
                return nil
            }
            if let early {
                work.cancel()
                timer.cancel()
                continuation.resume(with: early)
            }
        }

        func finish(_ outcome: Result<T, any Error>) {
            let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                guard state.outcome == nil else { return (nil, []) }
                state.outcome = outcome
                defer { state.continuation = nil; state.tasks = [] }
                return (state.continuation, state.tasks)
            }
            for task in tasks { task.cancel() }
            continuation?.resume(with: outcome)
        }
    }
}
