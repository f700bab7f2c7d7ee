import Foundation
import HashCore
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Decodes and hashes uploads on threads of its own: a 20 ms decode on one of the few threads
/// of Swift's concurrency pool would stall every other request behind it.
final class HashingPool: Service, Sendable {
    private let threads: NIOThreadPool
    private let shelf: FingerprinterShelf

    init(threadCount: Int, decoder: ImageDecoder) {
        threads = NIOThreadPool(numberOfThreads: threadCount)
        threads.start()
        shelf = FingerprinterShelf(decoder: decoder)
    }

    /// Digests and, when the bytes decode, the PDQ hash (and its 8 dihedral variants if asked).
    func fingerprint(_ bytes: ByteBuffer, dihedral: Bool) async throws -> Fingerprint {
        try await threads.runIfActive { [shelf] in
            shelf.withFingerprinter(dihedral: dihedral) { fingerprinter in
                bytes.withUnsafeReadableBytes { fingerprinter.fingerprint(bytes: $0) }
            }
        }
    }

    /// Runs blocking work (verifying a database on reload) without taking a hashing thread for long.
    static func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "hashdb-reload"
            thread.start()
        }
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await threads.shutdownGracefully()
    }
}

/// Fingerprinters not in use. Invariant: a fingerprinter is either on the shelf (used by no one)
/// or taken by exactly one thread until it puts it back, so its scratch buffers are never shared.
private final class FingerprinterShelf: @unchecked Sendable {
    private let decoder: ImageDecoder
    private let lock = NIOLock()
    private var idle: [Bool: [Fingerprinter]] = [:]

    init(decoder: ImageDecoder) {
        self.decoder = decoder
    }

    func withFingerprinter<T>(dihedral: Bool, _ body: (Fingerprinter) -> T) -> T {
        let fingerprinter = lock.withLock { idle[dihedral]?.popLast() } ?? Fingerprinter(decoder: decoder, dihedral: dihedral)
        defer { lock.withLock { idle[dihedral, default: []].append(fingerprinter) } }
        return body(fingerprinter)
    }
}
