import SystemPackage

/// Which version of which file a path names, from one stat: a rename over the path changes the
/// inode; an edit in place, the size or modification time. The service watches its database
/// with it; scans skip unchanged files with it.
public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int
    /// Nanoseconds since 1970.
    public let modified: Int64

    /// The identity of the regular file at `path` (following links), or nil when there is none.
    public init?(path: String) {
        guard let status = try? FileName.filePath(path).stat(), status.type == .regular else { return nil }
        device = UInt64(status.deviceID.rawValue)
        inode = UInt64(status.inode.rawValue)
        size = Int(status.size)
        modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
    }
}
