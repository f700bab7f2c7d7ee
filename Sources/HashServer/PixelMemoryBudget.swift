import Foundation
import HashCore

/// The pixel memory every decode in the process may hold at once. A decode reserves what its
/// image header says it will need before any buffer exists, waits while others hold the
/// budget, and gives up after `--memory-wait` or at its request's deadline, whichever is first: a burst of 100-megapixel uploads queues
/// behind the budget instead of taking the process past its memory.
///
/// Invariant: `inUse` is the sum of the reservations not yet released.
public final class PixelMemoryBudget: Sendable {
    public let capacity: Int
    /// 2 GiB: one 100-megapixel progressive CMYK JPEG, or a dozen 12-megapixel photos at once.
    public static let defaultCapacity = 2 << 30
    private let inUse = Monitor(0)

    public init(capacity: Int) {
        precondition(capacity > 0, "a budget of nothing would refuse every image")
        self.capacity = capacity
    }

    /// Bytes reserved now (for tests and metrics).
    public var reserved: Int { inUse.withLock { $0 } }

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
        let capacity = capacity
        let reserved = inUse.await { inUse, now -> Monitor<Int>.Step<Bool> in
            if inUse + amount <= capacity {
                inUse += amount
                return .done(true, wakingWaiters: false)
            }
            return now < deadline ? .waitUntil(deadline) : .done(false, wakingWaiters: false)
        }
        guard reserved else { throw PixelMemoryExhausted(requested: amount, capacity: capacity) }
    }

    private func release(_ amount: Int) {
        inUse.withLock(wakingWaiters: true) { $0 -= amount }
    }
}

/// No pixel memory came free before the request's deadline.
struct PixelMemoryExhausted: Error {
    let requested: Int
    let capacity: Int
}
