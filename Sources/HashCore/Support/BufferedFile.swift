#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemPackage

/// An I/O failure, with the file it happened on.
public struct FileIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let errno: Errno

    public init(path: String, operation: String, errno: Errno) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(path): \(operation) failed: \(errno)" }
}

/// Appends bytes to a file through a large buffer. Call `close()` (or `sync()` then `close()`)
/// to find out whether everything reached the file; `deinit` only releases the descriptor.
///
/// A writer either owns its file and appends to it, or is placed at an offset of a file
/// another object owns (`DatabaseOutput`), writing there with positioned writes, so that
/// several writers (on several threads) fill disjoint parts of one file.
public final class BufferedFileWriter {
    public let path: String
    private let descriptor: FileDescriptor
    private let ownsDescriptor: Bool
    /// For a placed writer, where its next flushed byte goes.
    private var filePosition: Int?
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var closed = false
    /// Bytes written so far, buffered or not.
    public private(set) var size: Int = 0

    /// Creates (or truncates) the file.
    public init(path: String, bufferSize: Int = 1 << 20, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(FileIOError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: permissions)
        } catch {
            throw FileIOError(path: path, operation: "create", errno: error as? Errno ?? .ioError)
        }
        ownsDescriptor = true
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
    }

    /// Opens (or creates) the file to add to its end (a log that survives interruptions).
    public init(appendingTo path: String, bufferSize: Int = 64 << 10) throws(FileIOError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .append, .closeOnExec],
                                                 permissions: [.ownerReadWrite])
        } catch {
            throw FileIOError(path: path, operation: "open for appending", errno: error as? Errno ?? .ioError)
        }
        ownsDescriptor = true
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
    }

    /// A writer placed at `offset` of a file whose descriptor the caller keeps open (and
    /// closes) for longer than this writer lives.
    init(placedIn descriptor: FileDescriptor, path: String, at offset: Int, bufferSize: Int = 1 << 20) {
        self.path = path
        self.descriptor = descriptor
        ownsDescriptor = false
        filePosition = offset
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
    }

    deinit {
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

    public func flush() throws(FileIOError) {
        guard buffered > 0 else { return }
        try writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: buffered))
        buffered = 0
    }

    /// Writes the whole buffer and asks the kernel to put the file on disk.
    public func sync() throws(FileIOError) {
        try flush()
        guard fsync(descriptor.rawValue) == 0 else {
            throw FileIOError(path: path, operation: "fsync", errno: Errno(rawValue: errno))
        }
    }

    /// Overwrites bytes already written (after a flush), e.g. a header's checksum.
    public func overwrite(at offset: Int, with bytes: [UInt8]) throws(FileIOError) {
        try flush()
        do {
            _ = try bytes.withUnsafeBytes { try descriptor.writeAll(toAbsoluteOffset: Int64(offset), $0) }
        } catch {
            throw FileIOError(path: path, operation: "write", errno: error as? Errno ?? .ioError)
        }
    }

    public func close() throws(FileIOError) {
        guard !closed else { return }
        try flush()
        closed = true
        guard ownsDescriptor else { return }
        do {
            try descriptor.close()
        } catch {
            throw FileIOError(path: path, operation: "close", errno: error as? Errno ?? .ioError)
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FileIOError) {
        do {
            if let position = filePosition {
                _ = try descriptor.writeAll(toAbsoluteOffset: Int64(position), bytes)
                filePosition = position + bytes.count
            } else {
                _ = try descriptor.writeAll(bytes)
            }
        } catch {
            throw FileIOError(path: path, operation: "write", errno: error as? Errno ?? .ioError)
        }
    }
}

/// Reads a file from start to end through a large buffer.
public final class BufferedFileReader {
    public let path: String
    private let descriptor: FileDescriptor
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEnd = false

    public init(path: String, bufferSize: Int = 1 << 20) throws(FileIOError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw FileIOError(path: path, operation: "open", errno: error as? Errno ?? .ioError)
        }
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
    }

    deinit {
        buffer.deallocate()
        try? descriptor.close()
    }

    /// The next `count` bytes (valid until the next call), or nil at the end of the file.
    /// Throws when the file ends in the middle of them.
    public func read(_ count: Int) throws(FileIOError) -> UnsafeRawBufferPointer? {
        if end - start < count {
            try refill(atLeast: count)
            if end - start < count {
                guard end == start else {
                    throw FileIOError(path: path, operation: "read (file ends mid-record)", errno: .ioError)
                }
                return nil
            }
        }
        let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: count)
        start += count
        return bytes
    }

    /// Up to `maximum` further bytes, at least one, or nil at the end of the file.
    public func readAvailable(maximum: Int) throws(FileIOError) -> UnsafeRawBufferPointer? {
        if end == start {
            try refill(atLeast: 1)
            if end == start { return nil }
        }
        let count = min(maximum, end - start)
        let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: count)
        start += count
        return bytes
    }

    private func refill(atLeast count: Int) throws(FileIOError) {
        if count > buffer.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: count * 2, alignment: 64)
            grown.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
            buffer.deallocate()
            buffer = grown
        } else if start > 0 {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
        }
        end -= start
        start = 0
        while end < count && !atEnd {
            let read: Int
            do {
                read = try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            } catch {
                throw FileIOError(path: path, operation: "read", errno: error as? Errno ?? .ioError)
            }
            if read == 0 {
                atEnd = true
            }
            end += read
        }
    }
}
