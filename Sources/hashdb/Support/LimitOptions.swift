import ArgumentParser
import HashCore

/// Decode limits, shared by every command that reads images.
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
