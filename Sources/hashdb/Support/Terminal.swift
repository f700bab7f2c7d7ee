#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

enum ProcessorCount {
    static var active: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// Standard output with a large buffer: records are written far faster than line by line.
final class StandardOutput {
    private var buffer: [UInt8] = []
    private static let flushThreshold = 64 << 10
    private let descriptor: Int32

    init() {
        descriptor = 1
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    /// Output to a file (created or truncated) instead of standard output.
    init?(path: String) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    deinit {
        flush()
        if descriptor != 1 { close(descriptor) }
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

/// Writes every byte to a file descriptor, retrying short writes; gives up quietly on a closed
/// pipe (the reader has gone, as with `| head`).
func writeAll(to descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 && errno == EINTR {
            continue
        }
        guard written > 0 else { return }
        offset += written
    }
}

enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(to: 2, UnsafeRawBufferPointer($0)) }
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
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func finish() {
        if drawn {
            StandardError.write("\r\u{1B}[K")
        }
    }
}
