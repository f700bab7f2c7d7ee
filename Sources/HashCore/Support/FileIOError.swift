import SystemPackage

/// An I/O failure, with the file it happened on.
public struct FileIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    /// The system's reason, when a system call failed; nil when the bytes were wrong instead
    /// (a file that ends mid-record), which `problem` then says.
    public let errno: Errno?
    public let problem: String?

    public init(path: String, operation: String, errno: Errno) {
        self.path = path
        self.operation = operation
        self.errno = errno
        problem = nil
    }

    /// A failed call of swift-system (which throws `Errno`, untyped).
    public init(path: String, operation: String, error: any Error) {
        self.path = path
        self.operation = operation
        errno = error as? Errno
        problem = errno == nil ? String(describing: error) : nil
    }

    /// A read or write that worked but found the file not as it must be.
    public init(path: String, operation: String, problem: String) {
        self.path = path
        self.operation = operation
        errno = nil
        self.problem = problem
    }

    public var description: String { "\(path): \(operation) failed: " + (errno.map { "\($0)" } ?? problem ?? "") }
}
