import Foundation
import Testing
import TestSupport

/// The review's reproductions, run as a user would run them.
@Suite struct ReviewCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `sha256sum *.jpg > list.sha256; hashdb build -o s.hdb list.sha256`, then a query of a
    /// listed file: it matches by SHA-256, and no PDQ hash was made of a digest.
    @Test func aSha256sumListBuildsDigestsThatMatch() throws {
        let images = TestPaths.fixtures.appendingPathComponent("images/jpeg")
        let files = try FileManager.default.contentsOfDirectory(atPath: images.path).filter { $0.hasSuffix(".jpg") }.sorted()
        try standardOutput(of: "/usr/bin/sha256sum", files, in: images).write(to: URL(fileURLWithPath: path("list.sha256")))

        let build = try HashDBCommand.run(["build", "-o", path("s.hdb"), path("list.sha256")])
        #expect(build.status == 0, "\(build.standardError)")
        #expect(build.standardError.contains("sha256 \(files.count)"), "\(build.standardError)")
        #expect(build.standardError.contains("pdq 0"), "\(build.standardError)")
        let query = try HashDBCommand.run(["query", "--db", path("s.hdb"), images.appendingPathComponent(files[0]).path])
        #expect(query.status == 0, "\(query.standardOutput)")
        let match = try #require((query.records.first?["matches"] as? [[String: Any]])?.first)
        #expect(match["kind"] as? String == "sha256" && match["id"] as? String == files[0])
        // Forced the other way, the same file is a PDQ list (the user said so).
        let forced = try HashDBCommand.run(["build", "-o", path("p.hdb"), "--format", "pdq", path("list.sha256")])
        #expect(forced.status == 0 && forced.standardError.contains("pdq \(files.count)"), "\(forced.standardError)")
    }

    /// diff and export read a database's content into something new: a damaged input is
    /// refused by name (exit 2), not passed on.
    @Test func diffAndExportRefuseADatabaseWhoseChecksumFails() throws {
        let build = try HashDBCommand.run(["build", "-o", path("known.hdb"), "lists/hotline.csv"], currentDirectory: TestPaths.fixtures)
        #expect(build.status == 0, "\(build.standardError)")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("known.hdb"))))
        damageManifestContent(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path("damaged.hdb")))
        for arguments in [["diff", path("known.hdb"), path("damaged.hdb")], ["export", path("damaged.hdb")],
                          ["merge", "-o", path("m.hdb"), path("known.hdb"), path("damaged.hdb")]] {
            let output = try HashDBCommand.run(arguments)
            #expect(output.status == 2, "\(arguments[0]): \(output.standardError)")
            #expect(output.standardError.contains("damaged.hdb") && output.standardError.contains("checksum"), "\(arguments[0]): \(output.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: path("m.hdb")))
    }
}
