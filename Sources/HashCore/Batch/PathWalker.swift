#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files named by command-line arguments: files as given, directories walked
/// recursively in name order (so runs are repeatable), `-` for paths read from standard input,
/// one per line. Lazy: a directory is read only when the walk reaches it.
///
/// Symbolic links to directories are not followed (they could loop); links to files are
/// yielded like files. A path that does not exist is yielded as it is, so that the caller
/// reports it along with every other unreadable file.
public struct PathWalker: Sequence, IteratorProtocol {
    private var pending: [String]
    private var readStandardInput: (() -> String?)?

    public init(arguments: [String], standardInput: (() -> String?)? = { readLine(strippingNewline: true) }) {
        pending = arguments.reversed()
        readStandardInput = standardInput
    }

    public mutating func next() -> String? {
        while let path = pending.popLast() {
            if path == "-" {
                if let line = readStandardInput?() {
                    pending.append("-")
                    if !line.isEmpty {
                        pending.append(line)
                    }
                }
                continue
            }
            guard Self.isDirectory(path) else {
                return path
            }
            let children = Self.sortedEntries(of: path).map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
            pending.append(contentsOf: children.reversed())
        }
        return nil
    }

    /// True for a real directory (not a link to one).
    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        guard FileName.withPlatformString(path, { lstat($0, &status) }) == 0 else { return false }
        return (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Entry names except `.` and `..`, sorted by their bytes. An unreadable directory has none.
    /// Names that are not valid UTF-8 keep their bytes (`FileName`), so that they still open.
    static func sortedEntries(of directory: String) -> [String] {
        guard let stream = FileName.withPlatformString(directory, { opendir($0) }) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                FileName.string(fromBytes: raw.prefix(while: { $0 != 0 }))
            }
            if name != "." && name != ".." {
                names.append(name)
            }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
