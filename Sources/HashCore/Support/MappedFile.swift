#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemPackage

/// A whole file mapped read-only into memory, unmapped when the last reference goes.
///
/// Invariants: `base` points at `count` readable bytes for the object's lifetime (`count` may
/// be 0, then `base` is a dangling non-null pointer never dereferenced). The file must not be
/// rewritten in place while mapped (that would fault on access): hashdb only ever replaces
/// files by rename, which leaves this mapping on the old inode. Immutable after init, hence
/// Sendable.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int
    private let mapping: UnsafeMutableRawPointer?

    public enum OpenError: Error, Equatable, Sendable, CustomStringConvertible {
        case cannotOpen(String, Errno)
        case notARegularFile(String)
        case cannotMap(String, Errno)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let errno): "\(path): cannot open: \(errno)"
            case .notARegularFile(let path): "\(path): not a regular file"
            case .cannotMap(let path, let errno): "\(path): cannot map: \(errno)"
            }
        }
    }

    public init(path: String) throws(OpenError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw .cannotOpen(path, error as? Errno ?? .ioError)
        }
        defer { try? descriptor.close() }
        let status: Stat
        do {
            status = try descriptor.stat()
        } catch {
            throw .cannotOpen(path, error)
        }
        guard status.type == .regular else {
            throw .notARegularFile(path)
        }
        self.path = path
        count = Int(status.size)
        guard count > 0 else {
            mapping = nil
            base = UnsafeRawPointer(bitPattern: 0x10)!
            return
        }
        switch SystemCall.mapReadOnly(descriptor, count: count) {
        case .success(let address): mapping = address
        case .failure(let code): throw .cannotMap(path, code)
        }
        let address = mapping!
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let mapping {
            SystemCall.unmap(mapping, count: count)
        }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Asks for the range to be mapped with huge pages, where the kernel can.
    public func adviseHugePages(offset: Int, length: Int) {
        guard let mapping, length > 0 else { return }
        let huge = 2 << 20
        let start = (offset + huge - 1) / huge * huge
        let end = (offset + length) / huge * huge
        if end > start {
            SystemCall.advise(mapping + start, length: end - start, .hugePages)
        }
    }

    /// Lets go of the pages of a range this process has read: they leave its resident set (the
    /// kernel's page cache keeps them, so reading them again costs a minor fault). Long passes
    /// over large inputs call this behind them to keep their memory bounded.
    public func releasePages(offset: Int = 0, length: Int? = nil) {
        guard let mapping else { return }
        let pageSize = SystemCall.pageSize
        let start = (offset + pageSize - 1) / pageSize * pageSize
        let end = min(count, offset + (length ?? count))
        guard end > start else { return }
        SystemCall.advise(mapping + start, length: end - start, .dontNeed)
    }
}
