#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SystemPackage
import HashCore

enum ProcessorCount {
    static var active: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// Standard output with a large buffer: records are written far faster than line by line.
final class StandardOutput {
    private var buffer: [UInt8] = []
    private static let flushThreshold = 64 << 10
    private let descriptor: FileDescriptor

    init() {
        descriptor = .standardOutput
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    /// Output to a file (created or truncated) instead of standard output.
    init?(path: String) {
        guard let opened = try? FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec],
                                                    permissions: [.ownerReadWrite, .groupRead, .otherRead]) else { return nil }
        descriptor = opened
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    deinit {
        flush()
        if descriptor != .standardOutput { try? descriptor.close() }
    }

    func writeLine(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(10)
        if buffer.count >= Self.flushThreshold {
            flush()
        }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { writeAll(to: descriptor, $0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Writes every byte (swift-system retries short and interrupted writes); gives up quietly
/// on a closed pipe (the reader has gone, as with `| head`) or any other failure, since
/// there is nowhere left to report it.
func writeAll(to descriptor: FileDescriptor, _ bytes: UnsafeRawBufferPointer) {
    _ = try? descriptor.writeAll(bytes)
}

enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(to: .standardError, UnsafeRawBufferPointer($0)) }
    }

    static func line(_ text: String) {
        write(text + "\n")
    }

    static var isTerminal: Bool { isatty(2) == 1 }
}

/// A one-line progress report on stderr, redrawn at most ten times a second, only when stderr
/// is a terminal (never in logs or pipes).
final class ProgressLine {
    private let enabled: Bool
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now
    private var drawn = false

    init(enabled: Bool = StandardError.isTerminal) {
        self.enabled = enabled
    }

    /// Redraws, unless the line was drawn less than 0.1 s ago (`force`: a new stage, always).
    func update(_ text: @autoclosure () -> String, force: Bool = false) {
        guard enabled else { return }
        let now = ContinuousClock.now
        guard force || now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        drawn = true
        StandardError.write("\r\u{1B}[K" + text())
    }

    var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - start
        return elapsed.seconds
    }

    func finish() {
        if drawn {
            StandardError.write("\r\u{1B}[K")
        }
    }
}
