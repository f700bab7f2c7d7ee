import FuzzSupport

/// Any bytes as a video upload: container detection, FFmpeg's demuxer and decoder over hashdb's
/// in-memory reader, frame selection, conversion and vPDQ, under limits small enough that the
/// fuzzer explores structure, not size.
nonisolated(unsafe) let hasher = VPDQHasher(
    limits: VideoLimits(maxDurationSeconds: 60, maxHashedFrames: 64, maxPixels: 640 * 480, timeBudget: .seconds(2)),
    options: VPDQ.Options(secondsPerHash: 0.5))

@_cdecl("FuzzVideo_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzVideo(data, size) }
}

func fuzzVideo(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: input ?? UnsafePointer(bitPattern: 1)!, count: size)
    guard let format = VideoFormat.detect(bytes) else { return 0 }
    if case .success(let video) = Result(catching: { () throws(VideoDecodeError) in try hasher.hash(bytes: bytes, format: format) }) {
        precondition(video.frames.count <= 64, "the frame limit holds")
        for frame in video.frames {
            precondition((0...100).contains(frame.quality), "quality out of range")
        }
    }
    return 0
}
