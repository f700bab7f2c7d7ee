import Foundation
import Testing
import TestSupport

/// `hashdb scan`, `hashdb key new` and `hashdb serve`'s option checks, end to end.
@Suite struct ScanAndServeCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-scan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @Test func scanOfTheFixturesMarksKnownClustersAndWritesEachFormat() throws {
        let database = path("known.hdb")
        let build = try HashDBCommand.run(["build", "-o", database, "lists/hotline.csv"], currentDirectory: TestPaths.fixtures)
        #expect(build.status == 0, "\(build.standardError)")
        let scan = try HashDBCommand.run(["scan", "--db", database, "--dihedral", "images", "bad"], currentDirectory: TestPaths.fixtures)
        #expect(scan.status == 0, "\(scan.standardError)")
        let files = scan.records.filter { $0["type"] as? String == "file" }
        let clusters = scan.records.filter { $0["type"] as? String == "cluster" }
        let summary = try #require(scan.records.first { $0["type"] as? String == "summary" })
        #expect(files.count == summary["files"] as? Int)
        #expect(clusters.count == summary["clusters"] as? Int)
        #expect((summary["known"] as? Int ?? 0) >= 1)
        #expect((summary["undecodable"] as? Int ?? 0) >= 10, "the bad fixtures are reported, and the scan goes on")
        let baseline = try #require(files.first { $0["path"] as? String == "images/jpeg/baseline.jpg" })
        #expect(baseline["status"] as? String == "known")
        #expect(scan.standardError.contains("distinct images"))

        for format in ["csv", "html"] {
            let report = path("report.\(format)")
            let output = try HashDBCommand.run(["scan", "--format", format, "--report", report, "images"], currentDirectory: TestPaths.fixtures)
            #expect(output.status == 0)
            let text = try String(contentsOfFile: report, encoding: .utf8)
            #expect(text.contains("images/jpeg/baseline.jpg"), "\(format)")
        }
        // The state knows files by absolute path: a re-scan named from elsewhere reads none again.
        let state = path("scan.state")
        let first = try HashDBCommand.run(["scan", "--state", state, "images"], currentDirectory: TestPaths.fixtures)
        #expect(first.status == 0)
        let again = try HashDBCommand.run(["scan", "--state", state, TestPaths.fixtures.appendingPathComponent("images").path])
        #expect(again.standardError.contains(" 0 hashed, \(files.count == 0 ? 0 : first.records.filter { $0["type"] as? String == "file" }.count) from the state file"),
                "\(again.standardError)")

        let refused = try HashDBCommand.run(["scan", "--thumbnails", "images"], currentDirectory: TestPaths.fixtures)
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("--thumbnails goes with --format html"))
    }

    @Test func keysAreMadeOnceAndServeRefusesToRunOpenOnTheNetwork() throws {
        let keys = path("keys.txt")
        let made = try HashDBCommand.run(["key", "new", "provider-a", "--rate", "10", "--keys", keys])
        #expect(made.status == 0, "\(made.standardError)")
        let key = made.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = try String(contentsOfFile: keys, encoding: .utf8)
        #expect(key.hasPrefix("hdb_"))
        #expect(!file.contains(key), "the key file holds the key's digest, never the key")
        #expect(file.hasPrefix("provider-a sha256:") && file.contains(" rate=10"))
        let again = try HashDBCommand.run(["key", "new", "provider-a", "--keys", keys])
        #expect(again.status != 0)

        let open = try HashDBCommand.run(["serve", "--db", path("missing.hdb"), "--listen", "0.0.0.0:0"])
        #expect(open.status != 0)
        #expect(open.standardError.contains("without --keys"))
        // A name that merely starts like a loopback address is a name anyone can point anywhere.
        let lookalike = try HashDBCommand.run(["serve", "--db", path("missing.hdb"), "--listen", "127.example.com:0"])
        #expect(lookalike.status != 0)
        #expect(lookalike.standardError.contains("without --keys"))
        let missing = try HashDBCommand.run(["serve", "--db", path("missing.hdb"), "--listen", "127.0.0.1:0"])
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("missing.hdb"))
    }
}
