import Foundation
import Testing
import TestSupport

@testable import HashCore

/// vPDQ against Meta's vpdq 0.2.5 built on this machine's FFmpeg 5.1 (../shared/conformance/vpdq):
/// every hashed frame's number, quality, hash and timestamp, bit for bit; and against the hashes
/// Meta committed (another FFmpeg build): the same frames, each within Meta's test tolerance.
@Suite struct VideoConformanceTests {
    static let directory = TestPaths.shared.appendingPathComponent("conformance/vpdq")
    static var available: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("expected-1s.tsv").path) }

    /// Expected rows by video, in file order.
    static func expected(_ name: String) throws -> [(file: String, rows: [[String: String]])] {
        let table = try TSVTable(contentsOf: directory.appendingPathComponent(name))
        var byFile: [(file: String, rows: [[String: String]])] = []
        for row in table.rows {
            let file = row["file"]!
            if byFile.last?.file != file { byFile.append((file, [])) }
            byFile[byFile.count - 1].rows.append(row)
        }
        return byFile
    }

    static func hash(_ file: String, secondsPerHash: Double, downsample: (Int, Int)? = nil) throws -> VideoFingerprint {
        let path = directory.appendingPathComponent(file).path
        let head = try #require(FileHandle(forReadingAtPath: path)).readData(ofLength: 64)
        let format = try #require(head.withUnsafeBytes { VideoFormat.detect($0) })
        let hasher = VPDQHasher(options: VPDQ.Options(secondsPerHash: secondsPerHash, downsampleWidth: downsample?.0, downsampleHeight: downsample?.1))
        return try hasher.hash(path: path, format: format)
    }

    @Test func conformanceSetIsPresentInCI() throws {
        if TestPaths.isCI {
            #expect(Self.available, "CI is set but \(Self.directory.path)/expected-1s.tsv is missing")
            #expect(try Self.expected("expected-1s.tsv").count == 14)
        }
    }

    /// One frame a second: every row of expected-1s.tsv.
    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"))
    func oneFrameASecondEqualsTheReference() throws {
        var compared = 0
        for (file, rows) in try Self.expected("expected-1s.tsv") {
            let video = try Self.hash(file, secondsPerHash: 1)
            #expect(video.frames.count == rows.count, "\(file): \(video.frames.count) frames hashed, the reference \(rows.count)")
            for (frame, row) in zip(video.frames, rows) {
                #expect(String(frame.frame) == row["frame"], "\(file)")
                #expect(String(frame.quality) == row["quality"], "\(file) frame \(frame.frame)")
                #expect(frame.hash.hex == row["pdq"], "\(file) frame \(frame.frame)")
                #expect(VPDQ.timestampText(frame.timestamp) == row["timestamp"], "\(file) frame \(frame.frame)")
                compared += 1
            }
        }
        #expect(compared == 200)
    }

    static let everyFrame: [(file: String, rows: [[String: String]])] = available ? ((try? expected("expected-every-frame.tsv")) ?? []) : []

    /// Every frame: every row of expected-every-frame.tsv (5,872 frames of 14 videos, one test
    /// case a video so that they run on every core); and the same frames against the hashes Meta
    /// committed (made with another FFmpeg build), which can only be near.
    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"),
          arguments: VideoConformanceTests.everyFrame.map(\.file))
    func everyFrameEqualsTheReference(file: String) throws {
        let rows = try #require(Self.everyFrame.first { $0.file == file }).rows
        let video = try Self.hash(file, secondsPerHash: 0)
        #expect(video.frames.count == rows.count, "\(file): \(video.frames.count) frames hashed, the reference \(rows.count)")
        #expect(video.decodedFrames == rows.count)
        var differing: [String] = []
        for (frame, row) in zip(video.frames, rows) {
            let got = [String(frame.frame), String(frame.quality), frame.hash.hex, VPDQ.timestampText(frame.timestamp)]
            let want = [row["frame"]!, row["quality"]!, row["pdq"]!, row["timestamp"]!]
            if got != want { differing.append("\(got) != \(want)") }
        }
        #expect(differing.isEmpty, "\(file): \(differing.count) frames differ, first: \(differing.prefix(3))")
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        try Self.expectNearMetasCommittedHashes(video, committed: "meta-sample-hashes/\(name).txt")
    }

    /// Meta's own test rule (vpdq/python/tests/test_vpdq_hash.py): the same frames, in the same
    /// order, and every frame of quality ≥ 50 on both sides under 31 bits from Meta's.
    static func expectNearMetasCommittedHashes(_ video: VideoFingerprint, committed path: String) throws {
        let committed = try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(video.frames.count == committed.count, "\(path)")
        var compared = 0
        for (frame, line) in zip(video.frames, committed) {
            #expect(String(frame.frame) == line[0], "\(path)")
            guard frame.quality >= 50, let quality = Int(line[1]), quality >= 50 else { continue }
            let distance = frame.hash.distance(to: try PDQHash(hex: line[2]))
            #expect(distance < 31, "\(path) frame \(frame.frame): \(distance) bits from Meta's hash")
            compared += 1
        }
        #expect(compared > 0, "\(path): no frame of quality 50 or more on both sides")
    }

    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"))
    func theEveryFrameSetHasAllItsRows() {
        #expect(Self.everyFrame.count == 14)
        #expect(Self.everyFrame.map(\.rows.count).reduce(0, +) == 5872)
    }

    /// Frames scaled to 128×128 before hashing (`--downsample`), against Meta's committed
    /// 128×128 hashes of the 13 videos it has them for.
    @Test(.enabled(if: VideoConformanceTests.available, "vPDQ conformance set not found beside the checkout"),
          arguments: VideoConformanceTests.everyFrame.map(\.file).filter { !$0.contains("test-padded-dimensions") })
    func downsampledFramesAreNearMetasCommittedHashes(file: String) throws {
        let video = try Self.hash(file, secondsPerHash: 0, downsample: (128, 128))
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        try Self.expectNearMetasCommittedHashes(video, committed: "meta-sample-hashes/\(name)-128x128.txt")
    }

    @Test func theFrameStepIsVPDQsTruncatedProduct() {
        #expect(VPDQ.frameStep(secondsPerHash: 1, frameRate: 30) == 30)
        #expect(VPDQ.frameStep(secondsPerHash: 1, frameRate: 30000.0 / 1001) == 29)
        #expect(VPDQ.frameStep(secondsPerHash: 1.16, frameRate: 25) == 28)
        #expect(VPDQ.frameStep(secondsPerHash: 0, frameRate: 30) == 1)
        #expect(VPDQ.frameStep(secondsPerHash: 0.01, frameRate: 30) == 1)
        #expect(VPDQ.frameStep(secondsPerHash: .infinity, frameRate: 30) == 1)
        #expect(VPDQ.timestampText(VPDQ.timestamp(frame: 31, frameRate: 30)) == "1.033")
    }
}
