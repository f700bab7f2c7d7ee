#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SystemPackage

/// Appends bytes to a file through a large buffer. Call `close()` (or `sync()` then `close()`)
/// to find out whether everything reached the file; `deinit` only releases the descriptor.
///
/// A writer either owns its file and appends to it, or is placed at an offset of a file
/// another object owns (`DatabaseOutput`), writing there with positioned writes, so that
/// several writers (on several threads) fill disjoint parts of one file.
///
/// With `writeBehind`, a full buffer is handed to a background queue and filling goes on in a
/// second buffer: the kernel's copy of the bytes (a build writes gigabytes of spill files)
/// happens on another core. A failed background write is reported by the next call that
/// flushes, and by `close`/`sync`, which wait for it.
public final class BufferedFileWriter {
    public let path: String
    private let descriptor: FileDescriptor
    private let ownsDescriptor: Bool
    /// For a placed writer, where its next flushed byte goes.
    private var filePosition: Int?
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var closed = false
    private let background: WriteBehind?
    /// Bytes written so far, buffered or not.
    public private(set) var size: Int = 0

    /// Creates the file, which must not exist yet: every caller writes a working or temporary
    /// file, and O_EXCL keeps a file or link planted under that name (in a directory others
    /// can write) from being followed or overwritten. `mustNotExist: false` opens an existing
    /// file (a device) without truncating it.
    public init(path: String, bufferSize: Int = 1 << 20, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead],
                writeBehind: Bool = false, mustNotExist: Bool = true) throws(FileIOError) {
        self.path = path
        do {
            let options: FileDescriptor.OpenOptions = mustNotExist ? [.create, .exclusiveCreate, .closeOnExec] : [.closeOnExec]
            descriptor = try FileDescriptor.open(FilePath(path), .writeOnly, options: options, permissions: permissions)
        } catch {
            throw FileIOError(path: path, operation: "create", error: error)
        }
        ownsDescriptor = true
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
        background = writeBehind ? WriteBehind(bufferSize: buffer.count) : nil
    }

    /// Opens (or creates) the file to add to its end (a log that survives interruptions).
    public init(appendingTo path: String, bufferSize: Int = 64 << 10) throws(FileIOError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .append, .closeOnExec],
                                                 permissions: [.ownerReadWrite])
        } catch {
            throw FileIOError(path: path, operation: "open for appending", error: error)
        }
        ownsDescriptor = true
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
        background = nil
    }

    /// A writer placed at `offset` of a file whose descriptor the caller keeps open (and
    /// closes) for longer than this writer lives.
    init(placedIn descriptor: FileDescriptor, path: String, at offset: Int, bufferSize: Int = 1 << 20, writeBehind: Bool = false) {
        self.path = path
        self.descriptor = descriptor
        ownsDescriptor = false
        filePosition = offset
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
        background = writeBehind ? WriteBehind(bufferSize: buffer.count) : nil
    }

    deinit {
        _ = background?.finish()  // its buffer may still be on its way to the file
        buffer.deallocate()
        if !closed && ownsDescriptor {
            try? descriptor.close()
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileIOError) {
        guard bytes.count > 0 else { return }
        if bytes.count > buffer.count - buffered {
            try flush()
            if bytes.count >= buffer.count {
                try waitForBackground()
                try writeAll(bytes)
                size += bytes.count
                return
            }
        }
        buffer.baseAddress!.advanced(by: buffered).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        buffered += bytes.count
        size += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws(FileIOError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(FileIOError) in try write(raw) } }
        try result.get()
    }

    public func write<T: BitwiseCopyable>(value: T) throws(FileIOError) {
        let size = MemoryLayout<T>.size
        if size > buffer.count - buffered {
            try flush()
        }
        (buffer.baseAddress! + buffered).storeBytes(of: value, as: T.self)
        buffered += size
        self.size += size
    }

    /// The first `count` bytes of `value`, in order (digests and hashes).
    public func write(_ value: Bytes32, count: Int = 32) throws(FileIOError) {
        if count > buffer.count - buffered {
            try flush()
        }
        if count == 32 {
            value.store(to: buffer.baseAddress! + buffered)
        } else {
            for index in 0..<count {
                buffer[buffered + index] = value[index]
            }
        }
        buffered += count
        size += count
    }

    public func writeLittleEndian(_ value: UInt32) throws(FileIOError) { try write(value: value.littleEndian) }
    public func writeLittleEndian(_ value: UInt64) throws(FileIOError) { try write(value: value.littleEndian) }
    public func writeLittleEndian(_ value: Int64) throws(FileIOError) { try write(value: value.littleEndian) }

    /// Many 32-bit words at once (on little-endian machines, their bytes as they are).
    public func writeLittleEndian(words: UnsafeBufferPointer<UInt32>) throws(FileIOError) {
        #if _endian(little)
        try write(UnsafeRawBufferPointer(words))
        #else
        for word in words { try writeLittleEndian(word) }
        #endif
    }

    public func writeZeros(_ count: Int) throws(FileIOError) {
        var remaining = count
        let zeros = [UInt8](repeating: 0, count: min(count, 4096))
        while remaining > 0 {
            let chunk = min(remaining, zeros.count)
            try write(Array(zeros[0..<chunk]))
            remaining -= chunk
        }
    }

    /// Pads with zeros to the next multiple of `alignment`.
    public func align(to alignment: Int) throws(FileIOError) {
        let remainder = size % alignment
        if remainder != 0 {
            try writeZeros(alignment - remainder)
        }
    }

    /// Hands the buffered bytes to the file (with `writeBehind`, to the background queue).
    public func flush() throws(FileIOError) {
        guard buffered > 0 else { return }
        if let background {
            buffer = try background.submit(buffer, count: buffered, position: filePosition) { bytes, position throws(FileIOError) in
                try self.writeAll(bytes, at: position)
            }
        } else {
            try writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: buffered), at: filePosition)
        }
        filePosition = filePosition.map { $0 + buffered }
        buffered = 0
    }

    private func waitForBackground() throws(FileIOError) {
        if let error = background?.finish() { throw error }
    }

    /// Writes the whole buffer and asks the kernel to put the file on disk.
    public func sync() throws(FileIOError) {
        try flush()
        try waitForBackground()
        try SystemCall.sync(descriptor, path: path)
    }

    /// Overwrites bytes already written (after a flush), e.g. a header's checksum.
    public func overwrite(at offset: Int, with bytes: [UInt8]) throws(FileIOError) {
        try flush()
        try waitForBackground()
        do {
            _ = try bytes.withUnsafeBytes { try descriptor.writeAll(toAbsoluteOffset: Int64(offset), $0) }
        } catch {
            throw FileIOError(path: path, operation: "write", error: error)
        }
    }

    public func close() throws(FileIOError) {
        guard !closed else { return }
        try flush()
        try waitForBackground()
        closed = true
        guard ownsDescriptor else { return }
        do {
            try descriptor.close()
        } catch {
            throw FileIOError(path: path, operation: "close", error: error)
        }
    }

    /// Direct writes (larger than the buffer) go where the buffered bytes would have gone.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FileIOError) {
        try writeAll(bytes, at: filePosition)
        filePosition = filePosition.map { $0 + bytes.count }
    }

    /// Positioned when `position` is set, else at the descriptor's offset. Called from the
    /// background queue too: it reads only `descriptor` and `path`, which never change.
    private func writeAll(_ bytes: UnsafeRawBufferPointer, at position: Int?) throws(FileIOError) {
        do {
            if let position {
                _ = try descriptor.writeAll(toAbsoluteOffset: Int64(position), bytes)
            } else {
                _ = try descriptor.writeAll(bytes)
            }
        } catch {
            throw FileIOError(path: path, operation: "write", error: error)
        }
    }
}

/// The second buffer of a write-behind writer and the queue that empties it. At most one
/// buffer is in flight: `submit` waits for the previous write, then hands the filled buffer
/// over and returns the free one. `spare` is touched by the writer only while no write is in
/// flight, and the queue touches only the bytes handed to it; whether one is in flight, and
/// how it ended, pass through the monitor. That makes the @unchecked Sendable sound.
private final class WriteBehind: @unchecked Sendable {
    private struct Flight {
        var busy = false
        var failure: FileIOError?
    }

    private let queue = DispatchQueue(label: "hashdb.write-behind")
    private let flight = Monitor(Flight())
    private var spare: UnsafeMutableRawBufferPointer

    init(bufferSize: Int) {
        spare = .allocate(byteCount: bufferSize, alignment: 64)
    }

    deinit {
        spare.deallocate()
    }

    /// Starts writing the first `count` bytes of `filled` (a buffer of `bufferSize` bytes)
    /// with `write`; returns the buffer to fill next, which `filled` becomes once written.
    /// Throws a previous write's failure instead.
    func submit(_ filled: UnsafeMutableRawBufferPointer, count: Int, position: Int?,
                _ write: @escaping (UnsafeRawBufferPointer, Int?) throws(FileIOError) -> Void) throws(FileIOError) -> UnsafeMutableRawBufferPointer {
        precondition(filled.count == spare.count, "write-behind buffers have one size")
        if let failure = waitUntilIdle(thenBusy: true) { throw failure }
        let bytes = UnsafeRawBufferPointer(start: filled.baseAddress, count: count)
        let next = spare
        spare = filled
        let job = UncheckedJob { [flight] in
            var failure: FileIOError?
            do throws(FileIOError) {
                try write(bytes, position)
            } catch {
                failure = error
            }
            flight.withLock(wakingWaiters: true) { flight in
                flight.busy = false
                flight.failure = failure
            }
        }
        queue.async { job.run() }
        return next
    }

    /// Waits for the write in flight; its failure, if it failed.
    func finish() -> FileIOError? {
        waitUntilIdle(thenBusy: false)
    }

    /// Waits until no write is in flight; a failed write's error (and then nothing is started).
    @discardableResult
    private func waitUntilIdle(thenBusy: Bool) -> FileIOError? {
        flight.await { flight, _ in
            guard !flight.busy else { return .wait }
            if flight.failure == nil && thenBusy { flight.busy = true }
            return .done(flight.failure, wakingWaiters: false)
        }
    }
}

/// A closure that touches only what its owner's protocol hands over (see WriteBehind).
private struct UncheckedJob: @unchecked Sendable {
    let run: () -> Void
}
