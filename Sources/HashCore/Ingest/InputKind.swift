import Foundation

/// What an input argument is: a database, a list to parse, or images to fingerprint — told
/// by the content (a database's magic, an image's signature), never by the name.
public enum InputKind: Sendable, Equatable {
    case database
    case list
    case images

    public static func classify(_ path: String) throws(InputError) -> InputKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, reason: "no such file or directory")
        }
        if isDirectory.boolValue { return .images }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(file: path, reason: "cannot be read")
        }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        if HashDatabase.hasMagic(head) { return .database }
        return head.withUnsafeBytes { ImageFormat.detect($0) } != nil ? .images : .list
    }

    /// "hotline" for hotline.csv or a directory called hotline: the source of rows that name none.
    public static func defaultSourceName(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        return name.isEmpty ? url.lastPathComponent : name
    }
}
