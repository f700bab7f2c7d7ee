import Foundation
import Testing
import TestSupport

/// `hashdb build`, `query`, `info` and `verify` end to end, on the Fixtures lists and images.
@Suite struct DatabaseCommandTests {
    let directory: URL
    let database: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = directory.appendingPathComponent("known.hdb").path
        let build = try HashDBCommand.run(["build", "--output", database, "lists/hotline.csv", "lists/police.jsonl"],
                                          currentDirectory: TestPaths.fixtures)
        #expect(build.status == 0, "\(build.standardError)")
    }

    func query(_ arguments: [String], standardInput: String? = nil) throws -> HashDBCommand.Output {
        try HashDBCommand.run(["query", "--db", database] + arguments, standardInput: standardInput, currentDirectory: TestPaths.fixtures)
    }

    @Test func buildReportsWhatItMade() throws {
        let output = try HashDBCommand.run(["build", "-o", directory.appendingPathComponent("b.hdb").path, "lists/hotline.csv", "lists/police.jsonl"],
                                           currentDirectory: TestPaths.fixtures)
        #expect(output.status == 0)
        #expect(output.standardError.contains("10 rows → 9 entries"), "\(output.standardError)")
    }

    @Test func exactMatchCarriesTheMergedEntry() throws {
        let output = try query(["images/jpeg/baseline.jpg"])
        #expect(output.status == 0)
        let record = try #require(output.records.first)
        #expect(record["query"] as? String == "images/jpeg/baseline.jpg")
        let hashes = try #require(record["hashes"] as? [String: Any])
        #expect(Set(hashes.keys) == ["sha256", "sha1", "md5", "pdq", "quality"])
        let matches = try #require(record["matches"] as? [[String: Any]])
        let first = try #require(matches.first)
        #expect(first["id"] as? String == "NL-0001")
        #expect(first["kind"] as? String == "sha256")
        #expect(first["distance"] as? Int == 0)
        #expect(first["transform"] as? String == "orig")
        #expect(first["categories"] as? [String] == ["A1", "police-reviewed"])
        #expect(first["sources"] as? [String] == ["hotline", "police"])
        #expect(first["added"] as? String == "2023-11-02T08:00:00Z", "the earliest of the merged rows")
        #expect(first["ids"] as? [String] == ["NL-0001", "POL-7"])
        let kinds = matches.compactMap { $0["kind"] as? String }
        #expect(kinds.dropFirst().allSatisfy { $0 == "pdq" }, "near matches follow the exact one")
        let distances = matches.dropFirst().compactMap { $0["distance"] as? Int }
        #expect(distances == distances.sorted() && distances.allSatisfy { $0 <= 31 })
    }

    /// Without the options the local operator's query is unbounded; with them it is cut and says so.
    @Test func matchesAndThresholdAreCappedOnlyWhenAsked() throws {
        let all = try query(["--threshold", "256", "--min-quality", "0", "images/jpeg/baseline.jpg"])
        let everything = try #require(all.records.first?["matches"] as? [[String: Any]])
        #expect(everything.count > 2)
        #expect(all.records.first?["truncated"] == nil)
        let capped = try query(["--threshold", "256", "--min-quality", "0", "--max-matches", "2", "images/jpeg/baseline.jpg"])
        let record = try #require(capped.records.first)
        #expect((record["matches"] as? [[String: Any]])?.map { $0["id"] as? String } == everything.prefix(2).map { $0["id"] as? String })
        #expect(record["truncated"] as? Bool == true)
        let refused = try query(["--threshold", "64", "--max-threshold", "31", "images/jpeg/baseline.jpg"])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("--max-threshold"))
    }

    @Test func nearOnlyMatchAndNoMatchAndExitStatus() throws {
        let near = try query(["--threshold", "0", "images/webp/lossy.webp"])
        #expect(near.status == 0)
        let matches = try #require(near.records.first?["matches"] as? [[String: Any]])
        #expect(matches.map { $0["id"] as? String } == ["TE-1"])
        let none = try query(["images/jpeg/odd-size-333x217.jpg"])
        #expect(none.status == 1)
        #expect((none.records.first?["matches"] as? [Any])?.isEmpty == true)
        let broken = try query(["images/jpeg/baseline.jpg", "no/such.jpg"])
        #expect(broken.status == 2, "an error wins over a match, as with grep")
        #expect(broken.records.count == 2)
        #expect(broken.records[1]["error_code"] as? String == "cannot_open")
    }

    @Test func hashQueriesByLengthAndByName() throws {
        let expected = try TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.tsv")).rows
        let rgb = try #require(expected.first { $0["path"] == "images/png/rgb8.png" })
        let baseline = try #require(expected.first { $0["path"] == "images/jpeg/baseline.jpg" })
        let output = try query(["--hash", try #require(rgb["sha256"]), "--hash", try #require(baseline["md5"]).uppercased(),
                                "--hash", "pdq:" + (try #require(baseline["pdq"])), "--threshold", "0"])
        #expect(output.status == 0)
        let ids = output.records.map { ($0["matches"] as? [[String: Any]])?.first?["id"] as? String }
        #expect(ids == ["POL-100", "NL-0001", "NL-0001"])
        let bad = try query(["--hash", "xyz"])
        #expect(bad.status == 64)
        #expect(bad.standardError.contains("hex"))
    }

    @Test func standardInputMixesHashesAndPaths() throws {
        let expected = try TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.tsv")).rows
        let gray = try #require(expected.first { $0["path"] == "images/png/gray8.png" }?["sha256"])
        let output = try query(["-"], standardInput: "\(gray)\nimages/jpeg/progressive.jpg\n")
        #expect(output.status == 0)
        #expect(output.records.map { $0["query"] as? String } == [gray, "images/jpeg/progressive.jpg"])
    }

    @Test func filtersByCategoryAndSource() throws {
        let police = try query(["--source", "police", "images/jpeg/progressive.jpg"])
        let matches = try #require(police.records.first?["matches"] as? [[String: Any]])
        #expect(matches.allSatisfy { ($0["sources"] as? [String])?.contains("police") == true })
        #expect(!matches.isEmpty)
        let none = try query(["--category", "no-such-category", "images/jpeg/baseline.jpg"])
        #expect(none.status == 1)
    }

    @Test func tsvHasOneRowPerMatch() throws {
        let output = try query(["--format", "tsv", "--threshold", "0", "images/webp/lossy.webp", "images/jpeg/odd-size-333x217.jpg"])
        #expect(output.lines.first == "query\tkind\tdistance\ttransform\tid\tcategories\tsources\terror")
        #expect(output.lines.dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).count } == [8, 8])
        #expect(output.lines[1].hasPrefix("images/webp/lossy.webp\tpdq\t0\torig\tTE-1\tA1\tthreatexchange"))
    }

    @Test func infoAndVerify() throws {
        let info = try HashDBCommand.run(["info", "--format", "json", database])
        #expect(info.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.standardOutput.utf8)) as? [String: Any])
        #expect(object["entries"] as? Int == 9)
        #expect(object["sha256"] as? Int == 8)
        #expect((object["categories"] as? [String: Int])?["A1"] == 4)
        let manifest = try #require(object["manifest"] as? [String: Any])
        #expect((manifest["inputs"] as? [[String: Any]])?.count == 2)
        let text = try HashDBCommand.run(["info", database])
        #expect(text.standardOutput.contains("entries    9"))
        let verify = try HashDBCommand.run(["verify", database])
        #expect(verify.status == 0)
        #expect(verify.standardOutput.contains(": ok"))

        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: database)))
        damageManifestContent(&bytes)
        let damaged = directory.appendingPathComponent("damaged.hdb").path
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let refused = try HashDBCommand.run(["verify", database, damaged])
        #expect(refused.status == 2)
        #expect(refused.standardOutput.contains("checksum mismatch"))
        let truncated = directory.appendingPathComponent("truncated.hdb").path
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: truncated))
        let queryTruncated = try HashDBCommand.run(["query", "--db", truncated, "--hash", String(repeating: "0", count: 32)])
        #expect(queryTruncated.status == 2)
        #expect(queryTruncated.standardError.contains("truncated"))
    }

    @Test func malformedRowsAreReportedWithTheirLines() throws {
        let output = directory.appendingPathComponent("m.hdb").path
        let lenient = try HashDBCommand.run(["build", "-o", output, "lists/malformed.csv"], currentDirectory: TestPaths.fixtures)
        #expect(lenient.status == 0)
        for line in 3...7 {
            #expect(lenient.standardError.contains("lists/malformed.csv:\(line): "), "line \(line) not reported")
        }
        #expect(!lenient.standardError.contains("malformed.csv:2:"))
        #expect(lenient.standardError.contains("skipped 5 malformed rows"))

        let strictOutput = directory.appendingPathComponent("strict.hdb").path
        let strict = try HashDBCommand.run(["build", "--strict", "-o", strictOutput, "lists/malformed.csv"], currentDirectory: TestPaths.fixtures)
        #expect(strict.status == 2)
        #expect(strict.standardError.contains("malformed.csv:3:"))
        #expect(!FileManager.default.fileExists(atPath: strictOutput), "--strict writes nothing")
    }

    @Test func imagesBuildDirectlyAndAFailedBuildLeavesTheOldDatabase() throws {
        let output = directory.appendingPathComponent("images.hdb").path
        let built = try HashDBCommand.run(["build", "-o", output, "--category", "test", "images/png"], currentDirectory: TestPaths.fixtures)
        #expect(built.status == 0, "\(built.standardError)")
        let before = try Data(contentsOf: URL(fileURLWithPath: output))
        let match = try HashDBCommand.run(["query", "--db", output, "--threshold", "0", "images/png/rgb16.png"], currentDirectory: TestPaths.fixtures)
        #expect(match.status == 0)
        #expect((match.records.first?["matches"] as? [[String: Any]])?.first?["sources"] as? [String] == ["png"])
        let failed = try HashDBCommand.run(["build", "--strict", "-o", output, "lists/malformed.csv"], currentDirectory: TestPaths.fixtures)
        #expect(failed.status == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == before)
    }

    /// `sha256sum *.jpg > list.sha256; hashdb build -o s.hdb list.sha256`, then a query of a
    /// listed file: it matches by SHA-256, and no PDQ hash was made of a digest.
    @Test func aSha256sumListBuildsDigestsThatMatch() throws {
        let images = TestPaths.fixtures.appendingPathComponent("images/jpeg")
        let files = try FileManager.default.contentsOfDirectory(atPath: images.path).filter { $0.hasSuffix(".jpg") }.sorted()
        try standardOutput(of: "/usr/bin/sha256sum", files, in: images).write(to: URL(fileURLWithPath: directory.appendingPathComponent("list.sha256").path))

        let build = try HashDBCommand.run(["build", "-o", directory.appendingPathComponent("s.hdb").path, directory.appendingPathComponent("list.sha256").path])
        #expect(build.status == 0, "\(build.standardError)")
        #expect(build.standardError.contains("sha256 \(files.count)"), "\(build.standardError)")
        #expect(build.standardError.contains("pdq 0"), "\(build.standardError)")
        let query = try HashDBCommand.run(["query", "--db", directory.appendingPathComponent("s.hdb").path, images.appendingPathComponent(files[0]).path])
        #expect(query.status == 0, "\(query.standardOutput)")
        let match = try #require((query.records.first?["matches"] as? [[String: Any]])?.first)
        #expect(match["kind"] as? String == "sha256" && match["id"] as? String == files[0])
        // Forced the other way, the same file is a PDQ list (the user said so).
        let forced = try HashDBCommand.run(["build", "-o", directory.appendingPathComponent("p.hdb").path, "--format", "pdq", directory.appendingPathComponent("list.sha256").path])
        #expect(forced.status == 0 && forced.standardError.contains("pdq \(files.count)"), "\(forced.standardError)")
    }
}
