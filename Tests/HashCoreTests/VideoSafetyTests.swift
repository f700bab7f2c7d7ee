import Foundation
import Testing
import TestSupport

@testable import HashCore

/// Hostile and oversized videos: a typed error naming what is wrong, never a crash, a hang or
/// FFmpeg's own logging; the limits are checked before the work where the header can tell.
@Suite struct VideoSafetyTests {
    static let sample = VideoConformanceTests.directory.appendingPathComponent("videos/chair-19-sd-bar.mp4").path

    func hash(_ path: String, limits: VideoLimits = .default, options: VPDQ.Options = .init()) -> Result<VideoFingerprint, VideoDecodeError> {
        Result { () throws(VideoDecodeError) in try VPDQHasher(limits: limits, options: options).hash(path: path, format: .mp4) }
    }

    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"))
    func limitsAreCheckedFromTheHeader() throws {
        guard case .failure(.tooLong(let seconds, limit: 5)) = hash(Self.sample, limits: VideoLimits(maxDurationSeconds: 5)) else {
            Issue.record("a video of 18.8 s passed a limit of 5 s")
            return
        }
        #expect((18.7...18.9).contains(seconds))
        #expect(throws: VideoDecodeError.tooManyPixels(width: 480, height: 720, limit: 1000)) {
            try hash(Self.sample, limits: VideoLimits(maxPixels: 1000)).get()
        }
        #expect(throws: VideoDecodeError.tooManyFrames(limit: 10)) {
            try hash(Self.sample, limits: VideoLimits(maxHashedFrames: 10)).get()
        }
        #expect(throws: VideoDecodeError.timeBudgetExceeded(.milliseconds(1))) {
            try hash(Self.sample, limits: VideoLimits(timeBudget: .milliseconds(1)), options: .init(secondsPerHash: 0)).get()
        }
        #expect(throws: VideoDecodeError.framesTooSmall(width: 4, height: 64)) {
            try hash(Self.sample, options: .init(downsampleWidth: 4, downsampleHeight: 64)).get()
        }
    }

    /// A video cut short at many points, and with bytes overwritten: each gives frames or a
    /// typed error, never a crash.
    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"))
    func damagedVideosGiveFramesOrATypedError() throws {
        let directory = TemporaryDirectory()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.sample)))
        var generator = SeededGenerator(seed: 17)
        var outcomes: [String: Int] = [:]
        for index in 0..<12 {
            var damaged = bytes
            if index < 6 {
                damaged.removeLast(damaged.count - [12, 100, 4096, bytes.count / 3, bytes.count / 2, bytes.count - 1000][index])
            } else {
                for _ in 0..<(index * 20) { damaged[Int(generator.next() % UInt64(damaged.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            }
            let path = directory.file("damaged-\(index).mp4")
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            switch hash(path) {
            case .success(let video): outcomes["frames", default: 0] += 1; #expect(video.frames.count <= 19)
            case .failure(let error): outcomes[error.code, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 12)
        #expect(outcomes["cannot_open_video", default: 0] >= 1, "a file cut at 12 bytes cannot be opened: \(outcomes)")
    }

    /// The damaged videos of Fixtures/bad-videos, from memory and from their files, among them
    /// two FuzzVideo found: no-pixel-format.mp4 (a stream that names no pixel format made swscale
    /// abort the process when the scaler was made before decoding, as vpdq makes it) and
    /// stream-info-fails.mp4 (a failed probe freed the container twice). Each gives its frames
    /// or a typed error.
    @Test func damagedFixtureVideosGiveFramesOrATypedError() throws {
        let directory = TestPaths.fixtures.appendingPathComponent("bad-videos")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names.contains("no-pixel-format.mp4") && names.contains("stream-info-fails.mp4"))
        var codes: [String: String] = [:]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let hasher = VPDQHasher(options: .init(secondsPerHash: 0.5))
            let fromMemory = bytes.withUnsafeBytes { raw in Result { () throws(VideoDecodeError) in try hasher.hash(bytes: raw, format: .mp4) } }
            let fromFile = Result { () throws(VideoDecodeError) in try hasher.hash(path: path, format: .mp4) }
            for outcome in [fromMemory, fromFile] {
                switch outcome {
                case .success(let video): codes[name] = "frames \(video.frames.count)"
                case .failure(let error):
                    codes[name] = error.code
                    #expect(["corrupt_video", "cannot_open_video", "no_video_stream"].contains(error.code), "\(name): \(error)")
                }
            }
        }
        #expect(codes["no-pixel-format.mp4"] == "frames 0")
        #expect(codes["header-only.mp4"] == "no_video_stream")
    }

    @Test func bytesThatAreNoVideoAreRefusedByName() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("fake.mp4")
        try Data([0, 0, 0, 24] + Array("ftypisom".utf8) + [UInt8](repeating: 0x41, count: 200)).write(to: URL(fileURLWithPath: path))
        guard case .failure(let error) = hash(path) else {
            Issue.record("a fake MP4 was hashed")
            return
        }
        #expect(error.code == "cannot_open_video" || error.code == "no_video_stream", "\(error)")
        // Only the file protocol: a name FFmpeg would read as a URL is a file name.
        #expect(throws: VideoDecodeError.cannotOpen("No such file or directory")) {
            try VPDQHasher().hash(path: "http://127.0.0.1:9/video.mp4", format: .mp4)
        }
    }

    @Test func limitsAreNamedWithTheirValues() {
        #expect(VideoDecodeError.timeBudgetExceeded(.milliseconds(50)).description == "not hashed within the time budget of 0.05 s")
        #expect(VideoDecodeError.timeBudgetExceeded(.seconds(600)).description == "not hashed within the time budget of 600 s")
        #expect(VideoDecodeError.tooLong(seconds: 18.8, limit: 5).description == "18.8 s long, over the limit of 5.0 s")
    }

    @Test func containersAreToldByTheirFirstBytes() {
        func detect(_ bytes: [UInt8]) -> VideoFormat? { bytes.withUnsafeBytes { VideoFormat.detect($0) } }
        #expect(detect([0, 0, 0, 32] + Array("ftypmp42".utf8)) == .mp4)
        #expect(detect([0x1A, 0x45, 0xDF, 0xA3, 0x9F]) == .matroska)
        #expect(detect(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("AVI LIST".utf8)) == .avi)
        #expect(detect(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8)) == nil, "a WebP is an image")
        #expect(detect(Array("GIF89a".utf8)) == nil, "a GIF is an image (not yet a video)")
        #expect(detect(Array("sha256,md5\n".utf8)) == nil)
        // A text list beginning with "G" and a G 188 bytes in is not MPEG-TS; three sync bytes are.
        var text = Array(repeating: UInt8(ascii: "a"), count: 400)
        (text[0], text[188]) = (0x47, 0x47)
        #expect(detect(text) == nil)
        text[376] = 0x47
        #expect(detect(text) == .mpegts)
    }
}
