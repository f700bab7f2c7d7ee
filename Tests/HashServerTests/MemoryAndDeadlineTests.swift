import Foundation
import HashCore
@testable import HashServer
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// The process-wide pixel-memory budget and the request deadline (issue 15, item 7).
@Suite struct MemoryAndDeadlineTests {
    /// Holds `bytes` of `budget` on a thread of its own until `release` is signalled.
    static func hold(_ budget: PixelMemoryBudget, _ bytes: Int, until release: DispatchSemaphore) async throws {
        Thread {
            _ = try? budget.withReservation(bytes, until: .now + .seconds(60)) { release.wait() }
        }.start()
        for _ in 0..<500 where budget.reserved < bytes {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(budget.reserved == bytes)
    }

    @Test func reservationsWaitForRoomAndGiveUpAtTheDeadline() async throws {
        let budget = PixelMemoryBudget(capacity: 100)
        let release = DispatchSemaphore(value: 0)
        try await Self.hold(budget, 60, until: release)
        #expect(throws: PixelMemoryExhausted.self) {
            try budget.withReservation(60, until: .now + .milliseconds(50)) {}
        }
        #expect(try budget.withReservation(40, until: .now) { 1 } == 1, "what fits beside the holder runs at once")
        release.signal()
        // Over the whole budget: waits for all of it, then runs alone.
        #expect(try budget.withReservation(1_000, until: .now + .seconds(10)) { budget.reserved } == 100)
        #expect(budget.reserved == 0)
    }

    @Test func theHeaderSaysWhatADecodeWillHold() throws {
        let limits = DecodeLimits.default
        let baseline = try ServiceFixture.bytes("images/jpeg/baseline.jpg")
        let header = try #require(baseline.withUnsafeBytes { ImageHeader.read($0, limits: limits) })
        let decoded = try ImageDecoder().decode(baseline)
        #expect(header.format == .jpeg && header.width == decoded.sourceWidth && header.height == decoded.sourceHeight)
        #expect(baseline.withUnsafeBytes { HashingPool.decodeBytes($0, limits: limits) } == header.decodeBytes)
        #expect(header.decodeBytes >= header.width * header.height * 3)
        for refused in ["bad/bomb-100000x100000.png", "bad/text.png"] {
            let bytes = try ServiceFixture.bytes(refused)
            #expect(bytes.withUnsafeBytes { HashingPool.decodeBytes($0, limits: limits) } == 0, "\(refused) is refused before any buffer")
        }
    }

    /// With every byte of the budget taken, an upload waits its while and is then told to
    /// come back: 503 busy with Retry-After, instead of a decode past the memory.
    @Test func anUploadWithNoMemoryFreeIsRefusedBusy() async throws {
        let fixture = try ServiceFixture()
        let budget = PixelMemoryBudget(capacity: 1 << 20)
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        try await Self.hold(budget, budget.capacity, until: release)
        try await fixture.app {
            $0.pixelMemory = budget
            $0.limits.maxMemoryWait = .milliseconds(100)
        }.test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                     body: ByteBuffer(bytes: try ServiceFixture.bytes("images/jpeg/baseline.jpg"))) { response in
                #expect(response.status == .serviceUnavailable)
                try #expect(errorCode(response) == "busy")
                #expect(response.headers[.retryAfter] == "1")
            }
        }
    }

    /// Work that does not stop when cancelled (a decode inside a C library) is left to finish
    /// on its own: the request is answered at its deadline, not when the work ends.
    @Test func theDeadlineAnswersWithoutWaitingForTheWork() async throws {
        let gate = Gate()
        // A safety net only: opens the gate if the deadline ever waits for the work.
        let safetyNet = Task {
            try? await Task.sleep(for: .seconds(20))
            gate.open()
        }
        await #expect(throws: APIError.self) {
            try await Deadline.run(.now + .milliseconds(50), timeout: .milliseconds(50)) {
                await gate.wait()
                return 1
            }
        }
        let workStillHeld = !gate.isOpen
        #expect(workStillHeld, "answered before the work was let go")
        gate.open()
        safetyNet.cancel()
    }
}

/// A one-way gate for async waiters that ignores cancellation, as a running decode does.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.open } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let runNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if runNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
