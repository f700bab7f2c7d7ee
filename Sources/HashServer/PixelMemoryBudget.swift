import Foundation

/// The pixel memory every decode in the process may hold at once. A decode reserves what its
/// image header says it will need before any buffer exists, waits while others hold the
/// budget, and gives up at its request's deadline: a burst of 100-megapixel uploads queues
/// behind the budget instead of taking the process past its memory.
///
/// Invariant: `inUse` is read and written only while `condition` is locked, and is the sum of
/// the reservations not yet released.
public final class PixelMemoryBudget: @unchecked Sendable {
    public let capacity: Int
    /// 2 GiB: one 100-megapixel progressive CMYK JPEG, or a dozen 12-megapixel photos at once.
    public static let defaultCapacity = 2 << 30
    private let condition = NSCondition()
    private var inUse = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a budget of nothing would refuse every image")
        self.capacity = capacity
    }

    /// Bytes reserved now (for tests and metrics).
    public var reserved: Int {
        condition.lock()
        defer { condition.unlock() }
        return inUse
    }

    /// Runs `body` holding `bytes` of the budget, waiting for them until `deadline`. A request
    /// for more than the whole budget waits for all of it, so that it runs alone rather than never.
    func withReservation<T>(_ bytes: Int, until deadline: ContinuousClock.Instant,
                            _ body: () -> T) throws(PixelMemoryExhausted) -> T {
        let amount = min(max(0, bytes), capacity)
        try reserve(amount, until: deadline)
        defer { release(amount) }
        return body()
    }

    private func reserve(_ amount: Int, until deadline: ContinuousClock.Instant) throws(PixelMemoryExhausted) {
        condition.lock()
        defer { condition.unlock() }
        while inUse + amount > capacity {
            let left = deadline - .now
            guard left > .zero else { throw PixelMemoryExhausted(requested: amount, capacity: capacity) }
            let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) * 1e-18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        inUse += amount
    }

    private func release(_ amount: Int) {
        condition.lock()
        inUse -= amount
        condition.broadcast()
        condition.unlock()
    }
}

/// No pixel memory came free before the request's deadline.
struct PixelMemoryExhausted: Error {
    let requested: Int
    let capacity: Int
}
