#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SystemPackage

/// Reads a file from start to end through a large buffer.
public final class BufferedFileReader {
    public let path: String
    private let descriptor: FileDescriptor
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEnd = false
    /// Sees every byte read from the file, once, in order: a list's SHA-256 for the manifest
    /// comes out of the one pass that parses it.
    public var digest: SHA256Stream?

    /// The buffer is `bufferSize` bytes, or less for a smaller regular file (a list of ten rows
    /// needs no 4 MiB); it grows when one `read` asks for more.
    public init(path: String, bufferSize: Int = 1 << 20, startingAt offset: Int = 0) throws(FileIOError) {
        self.path = path
        let opened: FileDescriptor
        do {
            opened = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw FileIOError(path: path, operation: "open", error: error)
        }
        var size = bufferSize
        do {
            if offset > 0 { try opened.seek(offset: Int64(offset), from: .start) }
            let status = try opened.stat()
            if status.type == .regular {
                size = min(size, max(0, Int(status.size) - offset) + 1)  // + 1: the read that finds the end
            }
        } catch {
            try? opened.close()
            throw FileIOError(path: path, operation: "open", error: error)
        }
        descriptor = opened
        buffer = .allocate(byteCount: max(4096, size), alignment: 64)
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
                    throw FileIOError(path: path, operation: "read", problem: "the file ends mid-record")
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
                throw FileIOError(path: path, operation: "read", error: error)
            }
            if read == 0 {
                atEnd = true
            }
            digest?.update(UnsafeRawBufferPointer(rebasing: buffer[end..<(end + read)]))
            end += read
        }
    }
}
