import Foundation
import Testing

@testable import HashCore

/// The ingest policy a build and a merge follow, in-process (the commands only parse arguments
/// for it and print its reports).
@Suite struct IngestTests {
    static let digestA = String(repeating: "a1", count: 32)
    static let digestB = String(repeating: "b2", count: 32)
    static let digestC = String(repeating: "c3", count: 32)

    /// A CSV whose third line is malformed, and a folder of two generated images.
    static func inputs(in directory: TemporaryDirectory) throws -> (list: String, images: String) {
        let list = directory.file("hotline.csv")
        try "sha256,category\n\(digestA),\n\(digestB)x,A2\n\(digestC),B1\n".write(toFile: list, atomically: true, encoding: .utf8)
        let images = directory.file("reviewed")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for seed in 1...2 {
            try Data(ImageEncoder.png(SyntheticImage.scene(width: 64, height: 48, seed: UInt64(seed))))
                .write(to: URL(fileURLWithPath: images + "/\(seed).png"))
        }
        return (list, images)
    }

    @Test func aBuildReadsListsAndImagesUnderThePolicyAndNamesRejectedRowsByLine() throws {
        let directory = TemporaryDirectory()
        let (list, images) = try Self.inputs(in: directory)
        var rejected: [RowError] = []
        let output = directory.file("known.hdb")
        let policy = IngestPolicy(categories: ["A1"], jobs: 2)
        let report = try DatabaseIngest.build(IngestInputs(items: [list, images]), to: output, policy: policy,
                                              events: IngestEvents(rejected: { rejected.append($0) }))
        #expect(rejected.map(\.file) == [list])
        #expect(rejected.map(\.line) == [3])
        #expect(report.rows == 4 && report.rejected == 1)
        #expect(report.summary.entries == 4 && report.summary.pdqHashes == 2)
        // The list's SHA-256 in the manifest comes from the pass that parsed it.
        #expect(report.inputs.map(\.name) == [list, images])
        #expect(report.inputs[0].sha256 == Hex.encode(try FileDigest.sha256(path: list), byteCount: 32))
        #expect(report.inputs[0].format == "csv" && report.inputs[0].rows == 2 && report.inputs[0].rejected == 1)

        let database = try HashDatabase.open(path: output)
        let fromList = try database.match(HashText.parse("sha256:" + Self.digestA))
        #expect(fromList.matches.map(\.entry.categories) == [["A1"]], "the policy's category fills an empty field")
        #expect(fromList.matches.map(\.entry.sources) == [["hotline"]], "the source defaults to the list's name")
        let named = try database.match(HashText.parse("sha256:" + Self.digestC))
        #expect(named.matches.map(\.entry.categories) == [["B1"]], "a row's own category wins")
    }

    @Test func aStrictPolicyStopsAtTheFirstMalformedRowAndWritesNothing() throws {
        let directory = TemporaryDirectory()
        let (list, _) = try Self.inputs(in: directory)
        let output = directory.file("known.hdb")
        var thrown: BuildError?
        do {
            _ = try DatabaseIngest.build(IngestInputs(items: [list]), to: output, policy: IngestPolicy(strict: true))
        } catch {
            thrown = error
        }
        guard case .row(let row)? = thrown else {
            Issue.record("expected a row error, got \(String(describing: thrown))")
            return
        }
        #expect(row.file == list && row.line == 3)
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aDatabaseIsNotABuildInputAndAMissingInputIsNamed() throws {
        let directory = TemporaryDirectory()
        let (list, _) = try Self.inputs(in: directory)
        let database = directory.file("known.hdb")
        _ = try DatabaseIngest.build(IngestInputs(items: [list]), to: database, policy: IngestPolicy())
        #expect {
            try DatabaseIngest.build(IngestInputs(items: [database]), to: directory.file("other.hdb"), policy: IngestPolicy())
        } throws: { error in
            guard case BuildError.input(let input) = error else { return false }
            return input.file == database
        }
        let missing = directory.file("missing.csv")
        #expect(throws: BuildError.input(InputError(file: missing, reason: "no such file or directory"))) {
            try DatabaseIngest.build(IngestInputs(items: [missing]), to: directory.file("other.hdb"), policy: IngestPolicy())
        }
    }

    @Test(arguments: [ListWriter.Format.jsonl, .csv])
    func anExportRebuiltAloneIsTheSameDatabase(format: ListWriter.Format) throws {
        let directory = TemporaryDirectory()
        let (list, images) = try Self.inputs(in: directory)
        let original = directory.file("known.hdb")
        _ = try DatabaseIngest.build(IngestInputs(items: [list, images]), to: original, policy: IngestPolicy(source: "nl"))
        let export = directory.file("known.\(format.rawValue)")
        var text = ""
        try DatabaseExport.writeLines(of: try HashDatabase.open(path: original), format: format, workDirectory: directory.path) {
            text += $0 + "\n"
        }
        try text.write(toFile: export, atomically: true, encoding: .utf8)

        let rebuilt = directory.file("rebuilt.hdb")
        let report = try DatabaseIngest.build(IngestInputs(items: [export]), to: rebuilt, policy: IngestPolicy())
        #expect(report.restoredManifest)
        #expect(try Data(contentsOf: URL(fileURLWithPath: rebuilt)) == Data(contentsOf: URL(fileURLWithPath: original)))

        // Anything added makes it a new database, with a manifest of its own.
        let removals = directory.file("removals.csv")
        try "sha256\n\(Self.digestA)\n".write(toFile: removals, atomically: true, encoding: .utf8)
        let changed = try DatabaseIngest.build(IngestInputs(items: [export], removals: [removals]), to: directory.file("changed.hdb"),
                                               policy: IngestPolicy())
        #expect(!changed.restoredManifest)
        #expect(changed.summary.entries == report.summary.entries - 1)
    }

    @Test func aMergeStagesListsBesideDatabasesAndAppliesRemovals() throws {
        let directory = TemporaryDirectory()
        let (list, images) = try Self.inputs(in: directory)
        let yesterday = directory.file("yesterday.hdb")
        _ = try DatabaseIngest.build(IngestInputs(items: [images]), to: yesterday, policy: IngestPolicy())
        let removals = directory.file("false-positives.csv")
        try "sha256,reason\n\(Self.digestC),logo\nnot-a-digest,oops\n".write(toFile: removals, atomically: true, encoding: .utf8)
        var rejected: [RowError] = []
        let tonight = directory.file("tonight.hdb")
        let report = try DatabaseIngest.merge(IngestInputs(items: [yesterday, list], removals: [removals]), to: tonight,
                                              policy: IngestPolicy(), events: IngestEvents(rejected: { rejected.append($0) }))
        #expect(report.databases == 1 && report.lists == 1)
        #expect(report.listRows == 2 && report.listRejected == 1 && report.annotationRejected == 1)
        #expect(rejected.map(\.line) == [3, 3])
        #expect(report.summary.entries == 3, "two images and the list's A; C is removed")
        let database = try HashDatabase.open(path: tonight)
        #expect(try database.match(HashText.parse("sha256:" + Self.digestA)).matches.count == 1)
        #expect(try database.match(HashText.parse("sha256:" + Self.digestC)).matches.isEmpty)

        // A subtraction stages each list on its own side: the list minus the images is the list.
        let subtracted = try DatabaseIngest.merge(IngestInputs(items: [list, yesterday]), operation: .difference(nearRadius: nil),
                                                  to: directory.file("new.hdb"), policy: IngestPolicy())
        #expect(subtracted.summary.entries == 2)
    }

    @Test func hashTextIsParsedOneWayForEveryCaller() throws {
        let sha256 = String(repeating: "0f", count: 32)
        let bare = try HashText.parse(sha256)
        #expect(bare.digests.map(\.kind) == [.sha256] && bare.pdq != nil, "64 digits are SHA-256 and PDQ both")
        #expect(try HashText.parse("md5:" + String(repeating: "ab", count: 16)).digests.map(\.kind) == [.md5])
        #expect(try HashText.parse("PDQ:" + sha256).digests.isEmpty)
        #expect(throws: HashText.ParseError(description: "'sha512' is not sha256, sha1, md5 or pdq")) {
            try HashText.parse("sha512:" + sha256)
        }
        #expect(throws: HashText.ParseError(description: HexError.wrongLength(text: "abc", expected: [32, 40, 64]).description)) {
            try HashText.parse("abc")
        }
        var hashes = QueryHashes()
        #expect(throws: HashText.ParseError.self) { try HashText.add("zz", as: .sha1, to: &hashes) }
    }

    @Test func queryItemsTellHashesOnStandardInputFromPaths() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("d"), withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: directory.file("d/1.jpg")))
        let md5 = String(repeating: "ab", count: 16)
        var lines = ["  sha1:" + String(repeating: "cd", count: 20), "", "x.jpg", md5, directory.file("d")]
        let items = Array(QueryItems(arguments: ["a.jpg", "-", "b.jpg"], standardInput: { lines.isEmpty ? nil : lines.removeFirst() }))
        #expect(items == [.file("a.jpg"), .hash("sha1:" + String(repeating: "cd", count: 20)), .file("x.jpg"), .hash(md5),
                          .file(directory.file("d") + "/1.jpg"), .file("b.jpg")])
    }
}
