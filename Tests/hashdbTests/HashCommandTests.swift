import Foundation
import Testing
import TestSupport

/// `hashdb hash` end to end, through the built executable.
@Suite struct HashCommandTests {
    static let images = TestPaths.fixtures.appendingPathComponent("images")
    static let expected: [String: [String: String]] = {
        let rows = (try? TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.tsv")).rows) ?? []
        return Dictionary(rows.map { ($0["path"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
    }()

    @Test func hashesADirectoryWithTheDocumentedFields() throws {
        let output = try HashDBCommand.run(["hash", "images"], currentDirectory: TestPaths.fixtures)
        #expect(output.status == 0, "\(output.standardError)")
        let records = output.records
        #expect(records.count == Self.expected.count)
        for record in records {
            #expect(Array(record.keys).sorted() == ["format", "height", "md5", "path", "pdq", "quality", "sha1", "sha256", "width"])
            let path = try #require(record["path"] as? String)
            let row = try #require(Self.expected[path], "\(path) is not in expected.tsv")
            #expect(record["sha256"] as? String == row["sha256"])
            #expect(record["sha1"] as? String == row["sha1"])
            #expect(record["md5"] as? String == row["md5"])
            #expect(record["pdq"] as? String == row["pdq"])
            #expect((record["quality"] as? Int).map(String.init) == row["quality"])
            #expect((record["width"] as? Int).map(String.init) == row["width"])
            #expect((record["height"] as? Int).map(String.init) == row["height"])
        }
    }

    @Test func outputOrderIsInputOrderWhateverTheJobs() throws {
        let serial = try HashDBCommand.run(["hash", "--jobs", "1", "images"], currentDirectory: TestPaths.fixtures)
        let parallel = try HashDBCommand.run(["hash", "--jobs", "4", "images"], currentDirectory: TestPaths.fixtures)
        #expect(serial.status == 0 && parallel.status == 0)
        #expect(serial.standardOutput == parallel.standardOutput)
        let paths = serial.records.compactMap { $0["path"] as? String }
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "directories are walked in name order")
    }

    @Test func failuresGetAnErrorRecordAndExitStatusTwo() throws {
        let output = try HashDBCommand.run(
            ["hash", "images/jpeg/baseline.jpg", "bad/truncated.png", "bad/empty.jpg", "no/such/file.jpg", "images/png/rgb8.png"],
            currentDirectory: TestPaths.fixtures)
        #expect(output.status == 2)
        let records = output.records
        #expect(records.map { $0["path"] as? String } == ["images/jpeg/baseline.jpg", "bad/truncated.png", "bad/empty.jpg", "no/such/file.jpg", "images/png/rgb8.png"])
        #expect(records[0]["error"] == nil)
        #expect(records[1]["error_code"] as? String == "truncated")
        #expect(records[1]["sha256"] as? String != nil, "bytes that were read still have digests")
        #expect(records[2]["error_code"] as? String == "empty")
        #expect(records[3]["error_code"] as? String == "cannot_open")
        #expect(records[3]["sha256"] == nil)
        #expect(records[4]["pdq"] as? String != nil, "the run goes on after failures")
        #expect(output.standardError.contains("3 of 5 files"))
    }

    @Test func dihedralAddsTheEightHashesByName() throws {
        let output = try HashDBCommand.run(["hash", "--dihedral", "images/jpeg/baseline.jpg"], currentDirectory: TestPaths.fixtures)
        #expect(output.status == 0)
        let record = try #require(output.records.first)
        let dihedral = try #require(record["dihedral"] as? [String: String])
        #expect(Set(dihedral.keys) == ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"])
        let expected = try #require(Self.expected["images/jpeg/baseline.jpg"]?["dihedral"]).split(separator: ",").map(String.init)
        let order = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"]
        #expect(order.map { dihedral[$0] ?? "" } == expected)
        #expect(dihedral["orig"] == record["pdq"] as? String)
    }

    @Test func tsvHasAHeaderAndOneRowPerFile() throws {
        let output = try HashDBCommand.run(["hash", "--format", "tsv", "images/webp", "bad/empty.jpg"], currentDirectory: TestPaths.fixtures)
        #expect(output.status == 2)
        let lines = output.lines
        #expect(lines.first == "path\tsha256\tsha1\tmd5\tpdq\tquality\twidth\theight\tformat\terror\tframe\ttimestamp")
        #expect(lines.count == 6)
        let lossy = lines[3].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(lossy[0] == "images/webp/lossy-alpha.webp" || lossy[0] == "images/webp/lossy.webp")
        #expect(lossy[8] == "webp")
        let failed = lines[5].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(failed.count == 12, "a column for each header field, frame and timestamp empty for an image")
        #expect(failed[9] == "empty file")
        #expect(failed[10].isEmpty && failed[11].isEmpty)
    }

    /// The project's generated videos (Fixtures/generate-videos): one record each, with its vPDQ
    /// frames at one a second; damaged ones get an error record, and the batch goes on.
    @Test func videosGetTheirFramesAndDamagedOnesAnError() throws {
        let output = try HashDBCommand.run(["hash", "videos/pattern.mp4", "bad-videos/truncated.mp4", "videos/fractal.mkv",
                                            "bad-videos/header-only.mp4", "videos/pattern-small.webm", "videos/pattern.avi"],
                                           currentDirectory: TestPaths.fixtures)
        #expect(output.status == 2)
        let records = output.records
        #expect(records.map { $0["path"] as? String } == ["videos/pattern.mp4", "bad-videos/truncated.mp4", "videos/fractal.mkv",
                                                         "bad-videos/header-only.mp4", "videos/pattern-small.webm", "videos/pattern.avi"])
        #expect(records.allSatisfy { $0["media"] as? String == "video" && ($0["sha256"] as? String)?.count == 64 })
        let pattern = records[0]
        #expect(pattern["format"] as? String == "mp4" && pattern["width"] as? Int == 256 && pattern["height"] as? Int == 144)
        #expect(pattern["frames_decoded"] as? Int == 75)
        let frames = try #require(pattern["frames"] as? [[String: Any]])
        #expect(frames.map { $0["frame"] as? Int } == [0, 25, 50], "25 fps, one frame a second")
        #expect(frames.map { $0["timestamp"] as? Double } == [0, 1, 2])
        #expect(frames.allSatisfy { ($0["pdq"] as? String)?.count == 64 && ($0["quality"] as? Int ?? -1) >= 50 })
        #expect(records[1]["error_code"] as? String == "corrupt_video")
        #expect(records[3]["error_code"] as? String == "no_video_stream")
        #expect((records[2]["frames"] as? [Any])?.count == 2 && (records[4]["frames"] as? [Any])?.count == 3
                && (records[5]["frames"] as? [Any])?.count == 2)
        #expect(!output.standardError.contains("[mov,mp4"), "FFmpeg's own log stays silent")

        let every = try HashDBCommand.run(["hash", "--format", "tsv", "--seconds-per-hash", "0", "--downsample", "64x64", "videos/pattern.avi"],
                                          currentDirectory: TestPaths.fixtures)
        #expect(every.status == 0)
        let rows = every.lines.dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 30, "every frame of 2 s at 15 fps, one row a frame")
        #expect(rows.map { $0[10] } == (0..<30).map(String.init))
        #expect(rows.allSatisfy { $0[6] == "176" && $0[7] == "144" && $0[8] == "avi" })

        let refused = try HashDBCommand.run(["hash", "--max-duration", "1", "videos/pattern.mp4"], currentDirectory: TestPaths.fixtures)
        #expect(refused.status == 2)
        #expect(refused.records.first?["error_code"] as? String == "too_long")
        let badSize = try HashDBCommand.run(["hash", "--downsample", "4x4", "videos/pattern.mp4"], currentDirectory: TestPaths.fixtures)
        #expect(badSize.status == 64)
    }

    @Test func readsPathsFromStandardInput() throws {
        let output = try HashDBCommand.run(["hash", "-"], standardInput: "images/png/gray8.png\nimages/jpeg/grayscale.jpg\n",
                                           currentDirectory: TestPaths.fixtures)
        #expect(output.status == 0)
        #expect(output.records.compactMap { $0["path"] as? String } == ["images/png/gray8.png", "images/jpeg/grayscale.jpg"])
    }

    @Test func fastModeStaysWithinMatchingDistance() throws {
        guard TestPaths.conformanceAvailable else { return }
        let image = TestPaths.conformance.appendingPathComponent("images/bridge-mods/aaa-orig.jpg").path
        let exact = try HashDBCommand.run(["hash", image])
        let fast = try HashDBCommand.run(["hash", "--fast", image])
        let exactHash = try #require(exact.records.first?["pdq"] as? String)
        let fastHash = try #require(fast.records.first?["pdq"] as? String)
        #expect(fast.records.first?["width"] as? Int == 1600, "the declared size is reported, not the scaled one")
        let distance = zip(Array(exactHash), Array(fastHash)).reduce(0) { sum, pair in
            sum + (Int(String(pair.0), radix: 16)! ^ Int(String(pair.1), radix: 16)!).nonzeroBitCount
        }
        #expect(distance <= 31)
    }

    @Test func usageErrorsAreExplained() throws {
        let none = try HashDBCommand.run(["hash"])
        #expect(none.status == 64)
        #expect(none.standardError.contains("name at least one file"))
        let zeroJobs = try HashDBCommand.run(["hash", "--jobs", "0", "x.jpg"])
        #expect(zeroJobs.status == 64)
        #expect(zeroJobs.standardError.contains("--jobs must be at least 1"))
    }
}
