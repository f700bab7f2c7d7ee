import Foundation

/// Meta's vPDQ video hash: the PDQ hash of frames taken at a fixed interval, each with its
/// quality, frame number and time, computed as vpdq 0.2.5 computes them (docs/VIDEO.md).
public enum VPDQ {
    /// vpdq's default: one hashed frame a second.
    public static let defaultSecondsPerHash = 1.0

    /// How the frames to hash are chosen and sized.
    public struct Options: Sendable, Equatable {
        /// Seconds between hashed frames; 0 hashes every frame.
        public var secondsPerHash: Double
        /// Frames scaled to this width (nil: as decoded) before hashing.
        public var downsampleWidth: Int?
        public var downsampleHeight: Int?

        public init(secondsPerHash: Double = VPDQ.defaultSecondsPerHash, downsampleWidth: Int? = nil, downsampleHeight: Int? = nil) {
            self.secondsPerHash = secondsPerHash
            self.downsampleWidth = downsampleWidth
            self.downsampleHeight = downsampleHeight
        }
    }

    /// Every how many frames one is hashed: seconds a hash × frames a second, truncated, at
    /// least 1 (vpdq's integer conversion: 1 s at 29.97 fps is every 29th frame).
    public static func frameStep(secondsPerHash: Double, frameRate: Double) -> Int {
        let product = secondsPerHash * frameRate
        guard product.isFinite, product >= 1 else { return 1 }
        return product < Double(Int32.max) ? Int(product) : Int(Int32.max)
    }

    /// A frame's time as vpdq states it: frame number over frame rate, in single precision.
    public static func timestamp(frame: Int, frameRate: Double) -> Double {
        Double(Float(frame) / Float(frameRate))
    }
}

/// One hashed frame of a video.
public struct VPDQFrame: Sendable, Equatable {
    /// 0-based, in the order the decoder returns frames.
    public var frame: Int
    public var quality: Int
    public var hash: PDQHash
    /// Seconds from the start (`VPDQ.timestamp`).
    public var timestamp: Double
    /// The hashes of the frame's 8 rotations and flips (`DihedralTransform` order), when asked
    /// for (a query; never stored).
    public var dihedral: [PDQHash]

    public init(frame: Int, quality: Int, hash: PDQHash, timestamp: Double, dihedral: [PDQHash] = []) {
        self.frame = frame
        self.quality = quality
        self.hash = hash
        self.timestamp = timestamp
        self.dihedral = dihedral
    }
}

/// What hashing a video found: its container and stream, and its vPDQ frames.
public struct VideoFingerprint: Sendable, Equatable {
    public var format: VideoFormat
    public var width: Int
    public var height: Int
    public var frameRate: Double
    /// The container's duration; nil when it states none.
    public var durationSeconds: Double?
    /// Frames decoded (every frame, hashed or not).
    public var decodedFrames: Int
    public var frames: [VPDQFrame]
}

/// Hashes videos, reusing its PDQ working memory from one frame to the next. Not for sharing
/// between threads.
public final class VPDQHasher {
    public let limits: VideoLimits
    public let options: VPDQ.Options
    private let pdq = PDQHasher()

    public init(limits: VideoLimits = .default, options: VPDQ.Options = VPDQ.Options()) {
        self.limits = limits
        self.options = options
    }

    /// With `dihedral`, each frame also gets the hashes of its 8 rotations and flips.
    public func hash(path: String, format: VideoFormat, dihedral: Bool = false) throws(VideoDecodeError) -> VideoFingerprint {
        try hash(.file(path), format: format, dihedral: dihedral)
    }

    /// Hashes a video held in memory (an upload): read in place, never written to disk.
    public func hash(bytes: UnsafeRawBufferPointer, format: VideoFormat, dihedral: Bool = false) throws(VideoDecodeError) -> VideoFingerprint {
        try hash(.memory(bytes), format: format, dihedral: dihedral)
    }

    private func hash(_ source: VideoSource, format: VideoFormat, dihedral: Bool) throws(VideoDecodeError) -> VideoFingerprint {
        let video = try VideoDecoder(source: source, format: format, limits: limits)
        let width = options.downsampleWidth ?? video.width
        let height = options.downsampleHeight ?? video.height
        guard width >= PDQ.minimumDimension, height >= PDQ.minimumDimension else {
            throw .framesTooSmall(width: width, height: height)
        }
        let step = VPDQ.frameStep(secondsPerHash: options.secondsPerHash, frameRate: video.frameRate)
        if let duration = video.durationSeconds {
            let expected = duration * video.frameRate / Double(step)
            if expected > Double(limits.maxHashedFrames) + 1 { throw .tooManyFrames(limit: limits.maxHashedFrames) }
        }
        var frames: [VPDQFrame] = []
        let maxHashedFrames = limits.maxHashedFrames
        let decoded = try video.forEachFrame(outputWidth: width, outputHeight: height, wanted: { $0 % step == 0 }) { number, rgb throws(VideoDecodeError) in
            guard frames.count < maxHashedFrames else { throw .tooManyFrames(limit: maxHashedFrames) }
            let result = pdq.hashFrame(rgb: rgb.pixels, width: rgb.width, height: rgb.height, rowStride: rgb.rowStride, dihedral: dihedral)
            frames.append(VPDQFrame(frame: number, quality: result.quality, hash: result.hash,
                                    timestamp: VPDQ.timestamp(frame: number, frameRate: video.frameRate), dihedral: result.dihedral))
        }
        return VideoFingerprint(format: format, width: video.width, height: video.height, frameRate: video.frameRate,
                                durationSeconds: video.durationSeconds, decodedFrames: decoded, frames: frames)
    }
}

extension VPDQ {
    /// A timestamp as vpdq prints it: seconds to 3 decimal places.
    public static func timestampText(_ seconds: Double) -> String {
        String(format: "%.3f", seconds)
    }
}

extension VPDQHasher {
    /// Frames `numbers` of a video as small pictures (at most `maxSide` pixels a side, aspect
    /// kept), decoded again: for a report that shows a strip of a video's frames.
    public func pictures(ofFrames numbers: Set<Int>, path: String, format: VideoFormat, maxSide: Int = 128) throws(VideoDecodeError) -> [Int: RGBImage] {
        let video = try VideoDecoder(source: .file(path), format: format, limits: limits)
        let scale = min(1.0, Double(maxSide) / Double(max(video.width, video.height)))
        let width = max(PDQ.minimumDimension, Int((Double(video.width) * scale).rounded()))
        let height = max(PDQ.minimumDimension, Int((Double(video.height) * scale).rounded()))
        var pictures: [Int: RGBImage] = [:]
        _ = try video.forEachFrame(outputWidth: width, outputHeight: height, wanted: numbers.contains) { number, rgb in
            pictures[number] = rgb.image()
        }
        return pictures
    }
}
