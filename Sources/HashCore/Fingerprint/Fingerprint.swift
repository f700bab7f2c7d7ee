/// What an image is, perceptually: its decoded size and PDQ hash.
public struct ImageFingerprint: Sendable, Equatable {
    public var format: ImageFormat
    /// The size the file declares (also in fast mode, which hashes a scaled-down decode).
    public var width: Int
    public var height: Int
    public var pdq: PDQResult
}

/// Everything HashCore knows about one file: its exact digests, always, and its perceptual
/// fingerprint when it decodes as an image.
public struct Fingerprint: Sendable {
    public var byteCount: Int
    public var digests: FileDigests
    public var image: Result<ImageFingerprint, ImageDecodeError>

    public var imageFingerprint: ImageFingerprint? { try? image.get() }
}

/// A file that could not be read at all (so it has no digests either).
public enum FileReadError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notARegularFile(path: String)
    case readFailed(path: String, reason: String)

    public var code: String {
        switch self {
        case .cannotOpen: "cannot_open"
        case .notARegularFile: "not_a_regular_file"
        case .readFailed: "read_failed"
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "\(path): cannot open: \(reason)"
        case .notARegularFile(let path): "\(path): not a regular file"
        case .readFailed(let path, let reason): "\(path): read failed: \(reason)"
        }
    }
}
