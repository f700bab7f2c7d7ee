import Foundation
import Testing
import TestSupport
import HashCore

/// `hashdb merge`, `subtract`, `diff` and `export` end to end.
@Suite struct MergeCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func run(_ arguments: [String]) throws -> HashDBCommand.Output {
        try HashDBCommand.run(arguments, currentDirectory: TestPaths.fixtures)
    }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// A database with everything an export must carry: merged entries with several ids and
    /// digests, an entry whose id was made up, removals by digest and id, an allowlist.
    func richDatabase() throws -> String {
        let extra = try write("extra.csv", """
            sha256,pdq,category,source
            \(String(repeating: "ab", count: 32)),\(String(repeating: "0f", count: 32)),"C3, with comma",extra
            """)
        let removals = try write("removals.csv", """
            sha256,id,reason
            970157f3761d246e6e5ea149e96728803a92121ea25401954ce51c546828b231,,"duplicate of a logo, see \""ticket\"" 12"
            ,POL-101,withdrawn by the police
            """)
        let allow = try write("allow.csv", "pdq,md5,radius,reason\n55446ab6fad0af2b63daca2495463ded5ad223c59f8236044c76b54b3a352ab3,,12,site logo\n,61d51ba85661f65a57c9a50de7790e35,,stock photo\n")
        let output = path("rich.hdb")
        let build = try run(["build", "-o", output, "--remove", removals, "--allow", allow, "lists/hotline.csv", "lists/police.jsonl", extra])
        #expect(build.status == 0, "\(build.standardError)")
        return output
    }

    @Test(arguments: ["jsonl", "csv"])
    func exportRebuildsTheSameBytes(format: String) throws {
        let database = try richDatabase()
        let export = try run(["export", "--format", format, "--output", path("export.\(format)"), database])
        #expect(export.status == 0, "\(export.standardError)")
        let text = try String(contentsOfFile: path("export.\(format)"), encoding: .utf8)
        #expect(text.contains("removed") && text.contains("allowed") && text.contains("manifest"))
        let rebuild = try run(["build", "-o", path("rebuilt.hdb"), path("export.\(format)")])
        #expect(rebuild.status == 0, "\(rebuild.standardError)")
        #expect(FileManager.default.contentsEqual(atPath: database, andPath: path("rebuilt.hdb")))
    }

    @Test func removalsAndAllowlistsExplainThemselves() throws {
        let database = try richDatabase()
        let merged = try run(["merge", "-o", path("tonight.hdb"), database, "lists/police.jsonl"])
        #expect(merged.status == 0, "\(merged.standardError)")
        #expect(merged.standardError.contains("removed"), "\(merged.standardError)")
        // The police list brings POL-100 and POL-101 back: the removals carried by the database keep them out.
        let query = try run(["query", "--db", path("tonight.hdb"), "--explain",
                             "--hash", "sha256:970157f3761d246e6e5ea149e96728803a92121ea25401954ce51c546828b231",
                             "--hash", "md5:61d51ba85661f65a57c9a50de7790e35"])
        #expect(query.status == 1, "\(query.standardOutput)")
        #expect(query.standardError.contains("removed by removals"), "\(query.standardError)")
        #expect(query.standardError.contains("all matches suppressed by allowlist allow"), "\(query.standardError)")
        let records = query.records
        #expect((records.first?["removed"] as? [[String: Any]])?.first?["reason"] as? String == "duplicate of a logo, see \"ticket\" 12")
        #expect((records.last?["suppressed"] as? [[String: Any]])?.first?["scope"] as? String == "all")
        let info = try run(["info", path("tonight.hdb")])
        #expect(info.standardOutput.contains("lists/police.jsonl"))
    }

    @Test func diffCountsAndListsTheChanges() throws {
        let base = path("base.hdb")
        #expect(try run(["build", "-o", base, "lists/hotline.csv"]).status == 0)
        #expect(try run(["merge", "-o", path("more.hdb"), base, "lists/police.jsonl"]).status == 0)
        let same = try run(["diff", base, base])
        #expect(same.status == 0)
        let diff = try run(["diff", "--list", base, path("more.hdb")])
        #expect(diff.status == 1)
        let changes = diff.records.compactMap { $0["change"] as? String }
        #expect(changes.filter { $0 == "added" }.count == 4)
        #expect(changes.filter { $0 == "changed" }.count == 1)
        #expect(diff.standardError.contains("added      4"))
        let json = try run(["diff", "--format", "json", path("more.hdb"), base])
        #expect(json.records.first?["removed"] as? Int == 4)
    }

    @Test func subtractAndIntersectTakeListsAndDatabases() throws {
        let all = path("all.hdb")
        #expect(try run(["build", "-o", all, "lists/hotline.csv", "lists/police.jsonl"]).status == 0)
        let subtract = try run(["subtract", "-o", path("police-only.hdb"), all, "lists/hotline.csv"])
        #expect(subtract.status == 0, "\(subtract.standardError)")
        let intersect = try run(["intersect", "-o", path("both.hdb"), "lists/hotline.csv", "lists/police.jsonl"])
        #expect(intersect.status == 0, "\(intersect.standardError)")
        let both = try run(["export", path("both.hdb")])
        #expect(both.records.compactMap { $0["id"] as? String } == ["NL-0001", "POL-7"])
        let policeOnly = try run(["export", path("police-only.hdb")])
        #expect(Set(policeOnly.records.compactMap { $0["id"] as? String }) == ["POL-100", "POL-101", "POL-102", "TE-1"])
    }

    @Test func malformedRemovalRowsAreReportedWithLineNumbers() throws {
        let removals = try write("bad-removals.csv", "sha256,reason\nnot-hex,oops\n,no value at all\n")
        let output = try run(["merge", "-o", path("out.hdb"), "lists/hotline.csv", "--remove", removals])
        #expect(output.status == 0)
        #expect(output.standardError.contains("bad-removals.csv:2: sha256"), "\(output.standardError)")
        #expect(output.standardError.contains("bad-removals.csv:3:"), "\(output.standardError)")
        let strict = try run(["merge", "--strict", "-o", path("strict.hdb"), "lists/hotline.csv", "--remove", removals])
        #expect(strict.status == 2)
        #expect(!FileManager.default.fileExists(atPath: path("strict.hdb")))
    }

    /// A build or merge killed at any moment (30 kills each, spread from the start to past the
    /// end of an uninterrupted run) leaves the old database or the complete new one at the
    /// output path, never a part, and the next run clears what the killed ones left.
    @Test func killedBuildsAndMergesLeaveTheOldFileOrTheNewOne() throws {
        var generator = SystemRandomNumberGenerator()
        var list = "sha256,pdq,category\n"
        for index in 0..<30_000 {
            let sha = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
            let pdq = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
            list += "\(sha),\(pdq),C\(index % 5)\n"
        }
        let listPath = try write("tonight.csv", list)
        let live = path("live.hdb")
        #expect(try run(["build", "-o", live, "lists/hotline.csv"]).status == 0)
        try killRepeatedly(["merge", "-o", live, live, listPath], output: live, times: 30)
        try killRepeatedly(["build", "-o", live, "lists/hotline.csv", listPath], output: live, times: 30)
    }

    private func killRepeatedly(_ arguments: [String], output live: String, times: Int) throws {
        let oldBytes = try Data(contentsOf: URL(fileURLWithPath: live))
        let reference = path("reference.hdb")
        // The same command writing elsewhere (the output is the argument after -o).
        let referenceArguments = arguments.enumerated().map { $0.offset == 2 ? reference : $0.element }
        let start = ContinuousClock.now
        #expect(try run(referenceArguments).status == 0)
        let duration = ContinuousClock.now - start
        let newBytes = try Data(contentsOf: URL(fileURLWithPath: reference))

        var sawOld = 0
        var sawNew = 0
        var generator = SystemRandomNumberGenerator()
        for attempt in 0..<times {
            let process = Process()
            process.executableURL = HashDBCommand.executable
            process.arguments = arguments
            process.currentDirectoryURL = TestPaths.fixtures
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Anywhere from the start to a fifth past the uninterrupted run's end.
            let delay = duration * Double.random(in: 0...1.2, using: &generator)
            Thread.sleep(forTimeInterval: delay.seconds)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let bytes = try Data(contentsOf: URL(fileURLWithPath: live))
            if bytes == oldBytes {
                sawOld += 1
                continue
            }
            // Otherwise it is the whole new database, the same bytes as the uninterrupted run's.
            sawNew += 1
            #expect(bytes == newBytes, "\(arguments[0]) attempt \(attempt): neither the old database nor the new one")
            try oldBytes.write(to: URL(fileURLWithPath: live))
        }
        #expect(sawOld > 0, "\(arguments[0]): some kills landed before the rename (old \(sawOld), new \(sawNew))")
        // A last, complete run clears the working files the killed runs left.
        let final = try run(arguments)
        #expect(final.status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".live.hdb.") }
        #expect(leftovers.isEmpty, "\(arguments[0]): \(leftovers)")
        try oldBytes.write(to: URL(fileURLWithPath: live))
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
