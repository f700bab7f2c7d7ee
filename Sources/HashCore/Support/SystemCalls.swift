#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims
import SystemPackage

/// The system calls swift-system does not wrap, in one place and one style: typed arguments,
/// EINTR retried, and for each call that can fail the real errno (thrown with the path and the
/// operation, or returned where the caller decides). Opening, reading, writing and closing go
/// through swift-system's `FileDescriptor` (which retries EINTR too). Outside this file only
/// `WorkDirectory` (mkdir) and `PathWalker` (lstat, opendir, readdir on names that are not
/// UTF-8) call the C library for files.
public enum SystemCall {
    /// Runs `call` until it does not fail with EINTR; `errno` of a failure (a result of -1).
    @inline(__always)
    static func retryingInterrupts<Result: BinaryInteger>(_ call: () -> Result) -> Swift.Result<Result, Errno> {
        while true {
            let result = call()
            if result != -1 { return .success(result) }
            let code = Errno(rawValue: errno)
            if code != .interrupted { return .failure(code) }
        }
    }

    /// Asks the kernel to put the file's data and metadata on disk (fsync).
    public static func sync(_ descriptor: FileDescriptor, path: String, what: String = "fsync") throws(FileIOError) {
        if case .failure(let code) = retryingInterrupts({ fsync(descriptor.rawValue) }) {
            throw FileIOError(path: path, operation: what, errno: code)
        }
    }

    /// Renames `source` over `destination`, atomically (rename(2)).
    public static func rename(_ source: String, over destination: String) throws(FileIOError) {
        if case .failure(let code) = retryingInterrupts({ Glibc.rename(source, destination) }) {
            throw FileIOError(path: destination, operation: "rename", errno: code)
        }
    }

    /// Makes the directory's entries durable (a rename into it, say): opens it and fsyncs it.
    public static func syncDirectory(_ directory: String) throws(FileIOError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(directory), .readOnly, options: [.directory, .closeOnExec])
        } catch {
            throw FileIOError(path: directory, operation: "open the directory to sync", error: error)
        }
        defer { try? descriptor.close() }
        try sync(descriptor, path: directory, what: "fsync the directory")
    }

    /// A file in memory only (memfd_create(2)) holding `bytes`, for a program that must read a
    /// file: an upload reaches it without touching the disk. The caller closes it.
    static func memoryFile(holding bytes: UnsafeRawBufferPointer, name: String) throws(FileIOError) -> FileDescriptor {
        let raw = hdb_memory_file(name)
        guard raw >= 0 else { throw FileIOError(path: name, operation: "memfd_create", errno: Errno(rawValue: errno)) }
        let descriptor = FileDescriptor(rawValue: raw)
        do {
            _ = try descriptor.writeAll(bytes)
        } catch {
            try? descriptor.close()
            throw FileIOError(path: name, operation: "write", error: error)
        }
        return descriptor
    }

    /// Copies up to `count` bytes between files inside the kernel (copy_file_range(2)): the
    /// number copied, 0 at the input's end, or the errno.
    static func copyFileRange(from input: FileDescriptor, at inputOffset: inout Int64,
                              to output: FileDescriptor, at outputOffset: inout Int64, count: Int) -> Swift.Result<Int, Errno> {
        retryingInterrupts { hdb_copy_file_range(input.rawValue, &inputOffset, output.rawValue, &outputOffset, count) }.map { Int($0) }
    }

    /// Starts writing a range of the file to disk without waiting (a hint: its failure shows
    /// in the fsync that follows, so none is reported here).
    static func startWriteback(_ descriptor: FileDescriptor, offset: Int, length: Int) {
        _ = hdb_start_writeback(descriptor.rawValue, Int64(offset), Int64(length))
    }

    /// The size of a memory page.
    public static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Maps `count` bytes of the file read-only and private (mmap(2)); `count` > 0.
    static func mapReadOnly(_ descriptor: FileDescriptor, count: Int) -> Swift.Result<UnsafeMutableRawPointer, Errno> {
        precondition(count > 0, "mmap of nothing")
        while true {
            let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor.rawValue, 0)
            if let address, address != MAP_FAILED { return .success(address) }
            let code = Errno(rawValue: errno)
            if code != .interrupted { return .failure(code) }
        }
    }

    /// Unmaps what `mapReadOnly` mapped.
    static func unmap(_ address: UnsafeMutableRawPointer, count: Int) {
        _ = munmap(address, count)
    }

    /// What a mapped range will be used for (madvise(2)).
    enum Advice {
        case hugePages, dontNeed

        var rawValue: Int32 {
            switch self {
            case .hugePages: MADV_HUGEPAGE
            case .dontNeed: MADV_DONTNEED
            }
        }
    }

    /// Advises the kernel about a page-aligned range of a mapping. Advice is a hint: a kernel
    /// that does not take it (no transparent huge pages, say) changes nothing, so the errno is
    /// returned for the caller that cares, never thrown.
    @discardableResult
    static func advise(_ address: UnsafeMutableRawPointer, length: Int, _ advice: Advice) -> Errno? {
        guard length > 0 else { return nil }
        if case .failure(let code) = retryingInterrupts({ madvise(address, length, advice.rawValue) }) { return code }
        return nil
    }
}
