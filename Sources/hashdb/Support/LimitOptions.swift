import ArgumentParser
import HashCore

/// Decode limits, shared by every command that reads images.
/// How videos are hashed (vPDQ) and how much of one may be taken on.
struct VideoOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds between the video frames hashed (vPDQ); 0 hashes every frame.", valueName: "seconds"))
    var secondsPerHash: Double = VPDQ.defaultSecondsPerHash

    @Option(help: ArgumentHelp("Scale video frames to WIDTHxHEIGHT before hashing (vpdq's downsample), e.g. 128x128.", valueName: "WxH"))
    var downsample: String?

    @Option(help: ArgumentHelp("Refuse videos longer than this many seconds.", valueName: "seconds"))
    var maxDuration: Double = VideoLimits.default.maxDurationSeconds

    @Option(help: ArgumentHelp("Refuse videos that would need more hashed frames than this.", valueName: "frames"))
    var maxFrames: Int = VideoLimits.default.maxHashedFrames

    @Option(help: ArgumentHelp("Give up on a video not hashed within this many seconds.", valueName: "seconds"))
    var videoTimeBudget: Double = VideoLimits.default.timeBudget.seconds

    func validate() throws {
        guard secondsPerHash >= 0, secondsPerHash.isFinite else { throw ValidationError("--seconds-per-hash must be 0 or more") }
        guard maxDuration > 0, maxFrames > 0, videoTimeBudget > 0 else {
            throw ValidationError("--max-duration, --max-frames and --video-time-budget must be positive")
        }
        if let downsample, Self.size(downsample) == nil {
            throw ValidationError("--downsample '\(downsample)' is not WIDTHxHEIGHT with both at least \(PDQ.minimumDimension), e.g. 128x128")
        }
    }

    static func size(_ text: String) -> (width: Int, height: Int)? {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
              (PDQ.minimumDimension...16384).contains(width), (PDQ.minimumDimension...16384).contains(height) else { return nil }
        return (width, height)
    }

    /// A hasher for one worker, with these options and `pixels` as the frame limit.
    func hasher(maxPixels: Int) -> VPDQHasher {
        let size = downsample.flatMap(Self.size)
        return VPDQHasher(limits: VideoLimits(maxDurationSeconds: maxDuration, maxHashedFrames: maxFrames, maxPixels: maxPixels,
                                              timeBudget: .milliseconds(Int64(videoTimeBudget * 1000))),
                          options: VPDQ.Options(secondsPerHash: secondsPerHash, downsampleWidth: size?.width, downsampleHeight: size?.height))
    }
}

struct LimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Refuse images with more pixels than this (width × height).", valueName: "pixels"))
    var maxPixels: Int = DecodeLimits.default.maxPixels

    @Option(help: ArgumentHelp("Refuse images wider or taller than this.", valueName: "pixels"))
    var maxDimension: Int = DecodeLimits.default.maxDimension

    @Option(help: ArgumentHelp("Do not decode files larger than this many bytes (their digests are still computed).", valueName: "bytes"))
    var maxFileSize: Int = DecodeLimits.default.maxFileBytes

    func validate() throws {
        guard maxPixels > 0, maxDimension > 0, maxFileSize > 0 else {
            throw ValidationError("--max-pixels, --max-dimension and --max-file-size must be positive")
        }
    }

    var limits: DecodeLimits {
        var limits = DecodeLimits.default
        limits.maxPixels = maxPixels
        limits.maxDimension = maxDimension
        limits.maxFileBytes = maxFileSize
        return limits
    }
}

/// How many files to work on at once.
struct JobsOption: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Files processed at once (default: one per core).", valueName: "n"))
    var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 {
            throw ValidationError("--jobs must be at least 1")
        }
    }

    var count: Int { jobs ?? ProcessorCount.active }
}
