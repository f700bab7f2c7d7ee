/// Bounds on what a video decode will take on, checked from the container's header before the
/// first frame is decoded (duration, frame size, the frames a hash would take), and again while
/// decoding for what a header can lie about (time, frames).
public struct VideoLimits: Sendable, Equatable {
    /// Longest video, in seconds, by the container's duration (or, when it gives none, by the
    /// frames decoded at the stream's rate).
    public var maxDurationSeconds: Double
    /// Most frames hashed (selected by `seconds_per_hash`); a file that needs more is refused.
    public var maxHashedFrames: Int
    /// Width × height of a frame, as decoded and as downsampled.
    public var maxPixels: Int
    /// Wall-clock time one video may take to open, decode and hash.
    public var timeBudget: Duration

    public init(maxDurationSeconds: Double = 4 * 3600, maxHashedFrames: Int = 100_000,
                maxPixels: Int = 8192 * 4320, timeBudget: Duration = .seconds(600)) {
        self.maxDurationSeconds = maxDurationSeconds
        self.maxHashedFrames = maxHashedFrames
        self.maxPixels = maxPixels
        self.timeBudget = timeBudget
    }

    public static let `default` = VideoLimits()
}

/// Why a video could not be hashed. Every case names what was wrong; the caller names the file.
public enum VideoDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// FFmpeg could not open or read the container (its own message).
    case cannotOpen(String)
    case noVideoStream
    /// No decoder in the linked FFmpeg for the stream's codec.
    case unsupportedCodec(String)
    case invalidFrameRate
    case invalidDimensions(width: Int, height: Int)
    case tooLong(seconds: Double, limit: Double)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case tooManyFrames(limit: Int)
    case timeBudgetExceeded(Duration)
    /// The decoder refused a packet or frame (FFmpeg's message): the file is damaged.
    case decodeFailed(String)
    /// Frames too small for PDQ (a side under 5 pixels).
    case framesTooSmall(width: Int, height: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let reason): "cannot open the video: \(reason)"
        case .noVideoStream: "no video stream"
        case .unsupportedCodec(let codec): "no decoder for its video codec \(codec)"
        case .invalidFrameRate: "the video stream gives no frame rate"
        case .invalidDimensions(let width, let height): "invalid frame size \(width)×\(height)"
        case .tooLong(let seconds, let limit): "\(Self.seconds(seconds)) long, over the limit of \(Self.seconds(limit))"
        case .tooManyPixels(let width, let height, let limit): "frames of \(width)×\(height) exceed the limit of \(limit) pixels"
        case .tooManyFrames(let limit): "more than \(limit) frames to hash"
        case .timeBudgetExceeded(let budget): "not hashed within the time budget of \(Self.seconds(budget.seconds))"
        case .decodeFailed(let reason): "the video does not decode: \(reason)"
        case .framesTooSmall(let width, let height): "frames of \(width)×\(height) are too small to hash (PDQ needs 5×5)"
        }
    }

    public var code: String {
        switch self {
        case .cannotOpen: "cannot_open_video"
        case .noVideoStream: "no_video_stream"
        case .unsupportedCodec: "unsupported_feature"
        case .invalidFrameRate: "invalid_frame_rate"
        case .invalidDimensions: "invalid_dimensions"
        case .tooLong: "too_long"
        case .tooManyPixels: "too_many_pixels"
        case .tooManyFrames: "too_many_frames"
        case .timeBudgetExceeded: "timeout"
        case .decodeFailed: "corrupt_video"
        case .framesTooSmall: "too_small"
        }
    }

    /// One of the limits refused the video (not damage).
    public var isLimit: Bool {
        switch self {
        case .tooLong, .tooManyPixels, .tooManyFrames: true
        default: false
        }
    }

    public var isTimeout: Bool {
        if case .timeBudgetExceeded = self { return true }
        return false
    }

    private static func seconds(_ value: Double) -> String {
        if value >= 100 { return "\(Int(value.rounded())) s" }
        return String(format: value >= 1 ? "%.1f s" : "%.3g s", value)
    }
}
