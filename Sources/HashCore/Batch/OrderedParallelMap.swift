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

/// The queue between the feeding thread and the workers. Every stored property is read and
/// written only while `condition` is locked, which is what makes the @unchecked sound.
private final class SharedState<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(Int, Input)] = []
    private var jobHead = 0
    private var results: [Int: (Input, Output)] = [:]
    private var closed = false
    private var exitedWorkers = 0

    func submit(_ sequenceNumber: Int, _ input: Input) {
        condition.lock()
        jobs.append((sequenceNumber, input))
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func takeJob() -> (Int, Input)? {
        condition.lock()
        defer { condition.unlock() }
        while jobHead == jobs.count && !closed {
            condition.wait()
        }
        guard jobHead < jobs.count else { return nil }
        let job = jobs[jobHead]
        jobHead += 1
        if jobHead > 1024 && jobHead * 2 > jobs.count {
            jobs.removeFirst(jobHead)
            jobHead = 0
        }
        return job
    }

    func finish(_ sequenceNumber: Int, input: Input, output: Output) {
        condition.lock()
        results[sequenceNumber] = (input, output)
        condition.broadcast()
        condition.unlock()
    }

    func waitForResult(_ sequenceNumber: Int) -> (Input, Output) {
        condition.lock()
        defer { condition.unlock() }
        while results[sequenceNumber] == nil {
            condition.wait()
        }
        return results.removeValue(forKey: sequenceNumber)!
    }

    func workerExited() {
        condition.lock()
        exitedWorkers += 1
        condition.broadcast()
        condition.unlock()
    }

    func waitForWorkers(_ count: Int) {
        condition.lock()
        while exitedWorkers < count {
            condition.wait()
        }
        condition.unlock()
    }
}
