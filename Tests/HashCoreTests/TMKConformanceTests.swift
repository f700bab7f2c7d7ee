import Foundation
import Testing
import TestSupport

@testable import HashCore

/// TMK+PDQF against ../shared/conformance/tmk (README there): every video's `.tmk` equal byte
/// for byte to the reference's, and the level-2 scores of every pair of Meta's files.
@Suite struct TMKConformanceTests {
    static let directory = TestPaths.shared.appendingPathComponent("conformance/tmk")
    static let videos = TestPaths.shared.appendingPathComponent("conformance/vpdq/videos")
    static var available: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("level2-pairs.tsv").path)
            && FileManager.default.isExecutableFile(atPath: TMKFrameSource.defaultProgram)
    }

    @Test func conformanceSetAndFFmpegArePresentInCI() {
        if TestPaths.isCI {
            #expect(FileManager.default.fileExists(atPath: Self.directory.appendingPathComponent("level2-pairs.tsv").path),
                    "CI is set but \(Self.directory.path) is missing")
            #expect(FileManager.default.isExecutableFile(atPath: TMKFrameSource.defaultProgram),
                    "CI is set but \(TMKFrameSource.defaultProgram) is missing (scripts/install-deps installs ffmpeg)")
        }
    }

    static let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("expected").path)) ?? [])
        .filter { $0.hasSuffix(".tmk") }.map { String($0.dropLast(4)) }.sorted()

    @Test(.enabled(if: TMKConformanceTests.available, "TMK conformance set or the ffmpeg program not found"), arguments: TMKConformanceTests.names)
    func tmkFileEqualsTheReference(name: String) throws {
        let path = Self.videos.appendingPathComponent(name + ".mp4").path
        let features = try TMK.hash(path: path, format: .mp4)
        let expected = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("expected/\(name).tmk")))
        let ours = TMKFile.bytes(of: features)
        #expect(ours.count == expected.count)
        let differing = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(differing == nil, "\(name): first differing byte at \(differing ?? -1) (frames: \(features.frameCount))")
        #expect(try TMKFile.features(from: expected) == features)
    }

    @Test(.enabled(if: TMKConformanceTests.available, "TMK conformance set not found"))
    func levelTwoScoresOfEveryPairEqualTheReference() throws {
        let table = try String(contentsOf: Self.directory.appendingPathComponent("level2-pairs.tsv"), encoding: .utf8)
        var cache: [String: TMKFeatures] = [:]
        func features(_ name: String) throws -> TMKFeatures {
            if let known = cache[name] { return known }
            let bytes = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("meta-sample-hashes/\(name)")))
            let read = try TMKFile.features(from: bytes)
            cache[name] = read
            return read
        }
        var compared = 0
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 3, let expected = Float(fields[2]) else { continue }
            let a = fields[0].hasSuffix(".tmk") ? fields[0] : fields[0] + ".tmk"
            let b = fields[1].hasSuffix(".tmk") ? fields[1] : fields[1] + ".tmk"
            let score = try features(a).level2Score(try features(b))
            #expect(abs(score - expected) <= 1e-5, "\(a) vs \(b): \(score), the reference \(expected)")
            compared += 1
        }
        #expect(compared == 169)
    }
}
