import Foundation

/// Runs `transform` over a sequence on several threads and hands the results back in input
/// order, as soon as each is next in line. At most `window` inputs are in flight, so memory
/// stays bounded however long the sequence is.
///
/// Each worker thread gets its own state from `makeWorker` (a Fingerprinter, say), so that
/// non-thread-safe scratch memory never crosses threads.
public struct OrderedParallelMap<Input: Sendable, Output: Sendable> {
    public let jobs: Int
    public let window: Int

    public init(jobs: Int, window: Int? = nil) {
        self.jobs = max(1, jobs)
        self.window = max(self.jobs, window ?? self.jobs * 4)
    }

    public func run<Worker>(
        _ inputs: some Sequence<Input>,
        makeWorker: @escaping @Sendable () -> Worker,
        transform: @escaping @Sendable (inout Worker, Input) -> Output,
        emit: (Input, Output) -> Void
    ) {
        let state = SharedState<Input, Output>()
        var threads: [Thread] = []
        for index in 0..<jobs {
            let thread = Thread {
                var worker = makeWorker()
                while let (sequenceNumber, input) = state.takeJob() {
                    let output = transform(&worker, input)
                    state.finish(sequenceNumber, input: input, output: output)
                }
                state.workerExited()
            }
            thread.name = "hashdb-worker-\(index)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }

        var iterator = inputs.makeIterator()
        var submitted = 0
        var emitted = 0
        var exhausted = false
        while true {
            while !exhausted && submitted - emitted < window {
                guard let input = iterator.next() else {
                    exhausted = true
                    state.close()
                    break
                }
                state.submit(submitted, input)
                submitted += 1
            }
            if emitted == submitted {
                break
            }
            let (input, output) = state.waitForResult(emitted)
            emit(input, output)
            emitted += 1
        }
        if !exhausted {
            state.close()
        }
        state.waitForWorkers(jobs)
    }
}

/// The queue between the feeding thread and the workers, all of it inside one monitor.
private final class SharedState<Input: Sendable, Output: Sendable>: Sendable {
    private struct Queue {
        var jobs: [(Int, Input)] = []
        var jobHead = 0
        var results: [Int: (Input, Output)] = [:]
        var closed = false
        var exitedWorkers = 0
    }

    private let queue = Monitor(Queue())

    func submit(_ sequenceNumber: Int, _ input: Input) {
        queue.withLock(wakingWaiters: true) { $0.jobs.append((sequenceNumber, input)) }
    }

    func close() {
        queue.withLock(wakingWaiters: true) { $0.closed = true }
    }

    func takeJob() -> (Int, Input)? {
        queue.await { queue, _ in
            guard queue.jobHead < queue.jobs.count else { return queue.closed ? .done(nil, wakingWaiters: false) : .wait }
            let job = queue.jobs[queue.jobHead]
            queue.jobHead += 1
            if queue.jobHead > 1024 && queue.jobHead * 2 > queue.jobs.count {
                queue.jobs.removeFirst(queue.jobHead)
                queue.jobHead = 0
            }
            return .done(job, wakingWaiters: false)
        }
    }

    func finish(_ sequenceNumber: Int, input: Input, output: Output) {
        queue.withLock(wakingWaiters: true) { $0.results[sequenceNumber] = (input, output) }
    }

    func waitForResult(_ sequenceNumber: Int) -> (Input, Output) {
        queue.await { queue, _ in
            queue.results.removeValue(forKey: sequenceNumber).map { .done($0, wakingWaiters: false) } ?? .wait
        }
    }

    func workerExited() {
        queue.withLock(wakingWaiters: true) { $0.exitedWorkers += 1 }
    }

    func waitForWorkers(_ count: Int) {
        queue.await { queue, _ in queue.exitedWorkers < count ? .wait : .done((), wakingWaiters: false) }
    }
}
