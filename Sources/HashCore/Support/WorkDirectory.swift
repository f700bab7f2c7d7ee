#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A private directory for one run's working files (sort runs, spills, a scan's own index),
/// removed with everything in it when the value goes. Made beside a destination (the same
/// file system, so that results rename into place) or in the system's temporary folder; named
/// as `AtomicFile.temporaryPath` names work directories, so that `AtomicFile.reclaimStale`
/// removes one a killed process left. Created with mode 0700 and never reused: a directory of
/// that name that already exists is an error, not somewhere to write.
public final class WorkDirectory: Sendable {
    public let path: String

    /// Beside `destination`.
    public init(beside destination: String) throws(FileIOError) {
        path = AtomicFile.temporaryPath(for: destination, kind: "work")
        try Self.make(path)
    }

    /// In the system's temporary folder, for work that writes nothing to keep (a diff, a scan).
    public convenience init(temporaryFor purpose: String) throws(FileIOError) {
        try self.init(beside: NSTemporaryDirectory() + "hashdb-" + purpose)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside.
    public func file(_ name: String) -> String { path + "/" + name }

    private static func make(_ path: String) throws(FileIOError) {
        guard mkdir(path, 0o700) == 0 else {
            throw FileIOError(path: path, operation: "create the working directory", errno: .init(rawValue: errno))
        }
    }
}
