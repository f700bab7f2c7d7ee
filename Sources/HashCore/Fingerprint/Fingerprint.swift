/// What an image is, perceptually: its decoded size and PDQ hash.
public struct ImageFingerprint: Sendable, Equatable {
    public var format: ImageFormat
    /// The size the file declares (also in fast mode, which hashes a scaled-down decode).
    public var width: Int
    public var height: Int
    public var pdq: PDQResult
}

/// Everything HashCore knows about one file: its exact digests, always, and its perceptual
/// fingerprint when it decodes as an image, or, for a video (told by its bytes, hashed when
/// the fingerprinter was given a video hasher), its vPDQ frames.
public struct Fingerprint: Sendable {
    public var byteCount: Int
    public var digests: FileDigests
    public var image: Result<ImageFingerprint, ImageDecodeError>
    /// Non-nil for a file whose bytes are a video container.
    public var video: Result<VideoFingerprint, VideoDecodeError>?
    /// A video's TMK+PDQF, when asked for (`Fingerprinter.tmkSource`).
    public var tmk: Result<TMKFeatures, VideoDecodeError>?

    public init(byteCount: Int, digests: FileDigests, image: Result<ImageFingerprint, ImageDecodeError>,
                video: Result<VideoFingerprint, VideoDecodeError>? = nil) {
        self.byteCount = byteCount
        self.digests = digests
        self.image = image
        self.video = video
    }

    public var imageFingerprint: ImageFingerprint? { try? image.get() }
    public var videoFingerprint: VideoFingerprint? { try? video?.get() }

    /// Whether the perceptual part worked: the image decoded, or the video was hashed.
    public var isPerceptuallyHashed: Bool {
        if let video { return (try? video.get()) != nil }
        return imageFingerprint != nil
    }
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
