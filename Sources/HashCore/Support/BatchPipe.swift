/// A bounded queue of batches from one producer thread to one consumer, in order. The producer
/// blocks when `capacity` batches wait; the consumer stops it with `cancelAndWait`.
/// `@unchecked Sendable` because the batches hold non-Sendable elements (rows with their
/// errors); they pass from one thread to the other only through the monitor, never shared.
final class BatchPipe<Element>: @unchecked Sendable {
    private struct Queue {
        var batches: [[Element]] = []
        var finished = false
        var producerDone = false
        var cancelled = false
        var failure: Error?
    }

    private let queue = Monitor(Queue())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Hands over a batch; false when the consumer has gone.
    func put(_ batch: [Element]) -> Bool {
        let capacity = capacity
        return queue.await { queue, _ in
            guard !queue.cancelled else { return .done(false, wakingWaiters: false) }
            guard queue.batches.count < capacity else { return .wait }
            queue.batches.append(batch)
            return .done(true, wakingWaiters: true)
        }
    }

    func finish(error: Error?) {
        queue.withLock(wakingWaiters: true) { queue in
            queue.finished = true
            queue.producerDone = true
            queue.failure = error
        }
    }

    /// The next batch, nil when the producer has finished; rethrows its error.
    func take() throws -> [Element]? {
        let next: Result<[Element]?, Error> = queue.await { queue, _ in
            if !queue.batches.isEmpty { return .done(.success(queue.batches.removeFirst()), wakingWaiters: true) }
            guard queue.finished else { return .wait }
            return .done(queue.failure.map { .failure($0) } ?? .success(nil), wakingWaiters: false)
        }
        return try next.get()
    }

    /// Stops the producer (if still running) and waits until it has returned.
    func cancelAndWait() {
        queue.withLock(wakingWaiters: true) { $0.cancelled = true }
        queue.await { queue, _ in queue.producerDone ? .done((), wakingWaiters: false) : .wait }
    }
}
