import Foundation
import Testing

@testable import HashCore

/// Generated image families: an original and its resized, recompressed, mirrored and lightly
/// cropped copies (and a byte-identical copy), plus unrelated images and blank ones.
struct ScanFolder {
    let directory = TemporaryDirectory()
    /// The expected clusters, as sets of paths.
    var families: [Set<String>] = []
    var originals: [String] = []

    init(families familyCount: Int = 4, singles: Int = 3) throws {
        for family in 0..<familyCount {
            let original = SyntheticImage.scene(width: 256, height: 192, seed: UInt64(100 + family))
            var members: [(String, [UInt8])] = [
                ("f\(family)-original.png", try ImageEncoder.png(original)),
                ("f\(family)-half.png", try ImageEncoder.png(original.resized(width: 128, height: 96))),
                ("f\(family)-q40.jpg", try ImageEncoder.jpeg(original, options: .init(quality: 40))),
                ("f\(family)-mirrored.png", try ImageEncoder.png(original.mirrored())),
                ("f\(family)-crop2.jpg", try ImageEncoder.jpeg(original.croppedBorder(fraction: 0.02), options: .init(quality: 85))),
            ]
            members.append(("copies/f\(family)-original-copy.png", members[0].1))
            var paths: Set<String> = []
            for (name, bytes) in members {
                paths.insert(try write(bytes, name))
            }
            originals.append(directory.file("f\(family)-original.png"))
            families.append(paths)
        }
        for single in 0..<singles {
            let image = SyntheticImage.scene(width: 200, height: 200, seed: UInt64(900 + single))
            families.append([try write(try ImageEncoder.png(image), "single-\(single).png")])
        }
        // Blank images: low quality, so no near link between them though their PDQ hashes are alike.
        for (index, value) in [UInt8(255), 128].enumerated() {
            let blank = RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: value, count: 64 * 64 * 3))
            families.append([try write(try ImageEncoder.png(blank), "blank-\(index).png")])
        }
        families.append([try write(Array("not an image\n".utf8), "notes.txt")])
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory.file(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func options(state: String? = nil) -> DuplicateScanner.Options {
        var options = DuplicateScanner.Options()
        options.dihedral = true
        options.jobs = 2
        options.statePath = state
        return options
    }

    static func partition(_ result: ScanResult) -> Set<Set<String>> {
        Set(result.clusters.map { Set($0.members.map { result.records[$0].path }) })
    }

    static func clustersByID(_ result: ScanResult) -> [String: Set<String>] {
        Dictionary(uniqueKeysWithValues: result.clusters.map { ($0.id, Set($0.members.map { result.records[$0].path })) })
    }
}

@Suite struct ScanTests {
    @Test func clustersAreExactlyTheFamilies() throws {
        let folder = try ScanFolder()
        let result = try DuplicateScanner(options: ScanFolder.options()).scan([folder.directory.path])
        #expect(ScanFolder.partition(result) == Set(folder.families))
        #expect(result.records.count == folder.families.reduce(0) { $0 + $1.count })
        #expect(result.lowQuality == 2)
        #expect(result.undecodable == 1)
        // The representative is the largest, best member: the full-size original or its copy.
        for cluster in result.clusters where cluster.members.count == 6 {
            let representative = result.records[cluster.representative]
            #expect(representative.pixels == 256 * 192, "\(representative.path)")
            // Links are transitive: a member may lie a little beyond the threshold from the
            // representative (a crop linked through a recompressed copy), never far.
            #expect((1..<64).contains(cluster.spread ?? -1))
        }
    }

    @Test func withoutDihedralTheMirroredCopyStandsAlone() throws {
        let folder = try ScanFolder(families: 1, singles: 0)
        var options = ScanFolder.options()
        options.dihedral = false
        let result = try DuplicateScanner(options: options).scan([folder.directory.path])
        let mirrored = folder.directory.file("f0-mirrored.png")
        #expect(ScanFolder.partition(result).contains([mirrored]))
    }

    @Test func clusterIDsAreStableAcrossRunsAndFileOrder() throws {
        let folder = try ScanFolder()
        let first = try DuplicateScanner(options: ScanFolder.options()).scan([folder.directory.path])
        let files = first.records.map(\.path).reversed()
        let second = try DuplicateScanner(options: ScanFolder.options()).scan(Array(files))
        #expect(ScanFolder.clustersByID(first) == ScanFolder.clustersByID(second))
        #expect(first.clusters.map(\.id) == second.clusters.map(\.id))
    }

    @Test func clustersMatchingAKnownDatabaseAreMarkedKnownAndComeLast() throws {
        let folder = try ScanFolder()
        // The database knows family 0 by its original's PDQ hash and family 1 by a recompressed copy's SHA-256.
        let fingerprinter = Fingerprinter()
        let original = try fingerprinter.fingerprint(path: folder.originals[0])
        let recompressed = try fingerprinter.fingerprint(path: folder.directory.file("f1-q40.jpg"))
        let databasePath = folder.directory.file("known.hdb")
        let builder = try DatabaseBuilder(destination: databasePath, options: .init(memoryBudget: 1 << 20))
        try builder.add(ListRow(id: "K-0", pdq: original.imageFingerprint!.pdq.hash, quality: 100, categories: ["A1"], sources: ["hotline"]))
        try builder.add(ListRow(id: "K-1", digests: [recompressed.digests.sha256], categories: ["B2"], sources: ["police"]))
        _ = try builder.write()
        let database = try HashDatabase.open(path: databasePath)
        let result = try DuplicateScanner(options: ScanFolder.options(), known: [database]).scan([folder.directory.path])
        let known = result.clusters.filter { $0.known != nil }
        #expect(known.count == 2)
        #expect(Set(known.map { $0.known!.match.entry.id }) == ["K-0", "K-1"])
        #expect(known.first { $0.known!.match.entry.id == "K-1" }?.known?.match.kind == .sha256)
        let statuses = result.clusters.map { $0.known == nil }
        #expect(statuses == statuses.sorted { $0 && !$1 }, "new clusters first")
    }

    @Test func aStateFileResumesAnInterruptedScanAndSkipsUnchangedFiles() throws {
        let folder = try ScanFolder(families: 2, singles: 1)
        let state = folder.directory.file("scan.state")
        let root = folder.directory.path
        let complete = try DuplicateScanner(options: ScanFolder.options(state: state)).scan([root])
        let total = complete.records.count
        #expect(complete.hashedFiles == total)

        // As if killed: the state holds the first few records and a torn line.
        let lines = try String(contentsOfFile: state, encoding: .utf8).split(separator: "\n")
        let kept = 5
        try (lines.prefix(1 + kept).joined(separator: "\n") + "\n" + lines[1 + kept].prefix(20)).write(toFile: state, atomically: false, encoding: .utf8)
        let resumed = try DuplicateScanner(options: ScanFolder.options(state: state)).scan([root])
        #expect(resumed.reusedFiles == kept)
        #expect(resumed.hashedFiles == total - kept)
        #expect(ScanFolder.partition(resumed) == ScanFolder.partition(complete))

        // A grown folder: only the new file is hashed.
        try Data(try ImageEncoder.png(SyntheticImage.scene(width: 100, height: 80, seed: 77))).write(to: URL(fileURLWithPath: folder.directory.file("new.png")))
        let grown = try DuplicateScanner(options: ScanFolder.options(state: state)).scan([root])
        #expect(grown.hashedFiles == 1)
        #expect(grown.reusedFiles == total)
    }

    @Test func aLabelledReportAddsItsClustersToAList() throws {
        let folder = try ScanFolder(families: 2, singles: 0)
        let result = try DuplicateScanner(options: ScanFolder.options()).scan([folder.directory.path])
        var lines: [String] = []
        ScanReport.write(result, format: .jsonl) { lines.append($0) }
        let reportPath = folder.directory.file("report.jsonl")
        try lines.joined(separator: "\n").write(toFile: reportPath, atomically: true, encoding: .utf8)
        let family0 = try #require(result.clusters.first { $0.members.contains { result.records[$0].path == folder.originals[0] } })
        let labelsPath = folder.directory.file("labels.csv")
        try "cluster,category\n\(family0.id),A1\n".write(toFile: labelsPath, atomically: true, encoding: .utf8)

        let rows = try ScanReport.labelledRows(report: reportPath, labels: labelsPath, defaultSource: "analysts")
        #expect(rows.count == family0.members.count)
        #expect(rows.allSatisfy { $0.categories == ["A1"] && $0.sources == ["analysts"] && $0.sha256 != nil })
        let databasePath = folder.directory.file("labelled.hdb")
        let builder = try DatabaseBuilder(destination: databasePath, options: .init(memoryBudget: 1 << 20))
        for row in rows { try builder.add(row) }
        _ = try builder.write()
        let rescan = try DuplicateScanner(options: ScanFolder.options(), known: [try HashDatabase.open(path: databasePath)]).scan([folder.directory.path])
        let known = rescan.clusters.filter { $0.known != nil }
        #expect(known.map(\.id) == [family0.id])

        try "cluster,category\nc0000000000000000,A1\n".write(toFile: labelsPath, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try ScanReport.labelledRows(report: reportPath, labels: labelsPath, defaultSource: "x") }
    }

    @Test func reportsInEveryFormatNameEveryFile() throws {
        let folder = try ScanFolder(families: 1, singles: 1)
        let result = try DuplicateScanner(options: ScanFolder.options()).scan([folder.directory.path])
        for format in ScanReport.Format.allCases {
            var text = ""
            ScanReport.write(result, format: format) { text += $0 + "\n" }
            for record in result.records {
                #expect(text.contains(format == .html ? TextEscaping.html(record.path) : record.path), "\(format) \(record.path)")
            }
        }
        var html = ""
        ScanReport.write(result, format: .html, thumbnails: true) { html += $0 }
        #expect(html.contains("data:image/jpeg;base64,"))
        var plain = ""
        ScanReport.write(result, format: .html) { plain += $0 }
        #expect(!plain.contains("data:image"), "no thumbnails unless asked")
    }

    @Test func stateLinesRoundTrip() throws {
        var record = ScanRecord(path: "a\tb\\c\nd.jpg", size: 12, modified: 1_700_000_000_123_456_789)
        record.digests = FileDigests(sha256: try Digest(kind: .sha256, hex: String(repeating: "1f", count: 32)),
                                     sha1: try Digest(kind: .sha1, hex: String(repeating: "2e", count: 20)),
                                     md5: try Digest(kind: .md5, hex: String(repeating: "3d", count: 16)))
        record.pdq = PDQHash(bits: Bytes32(w0: 10, w1: 11, w2: 12, w3: 13))
        record.quality = 87
        record.width = 10
        record.height = 20
        record.dihedral = (0..<8).map { PDQHash(bits: Bytes32(w0: UInt64($0), w1: 0, w2: 0, w3: 0)) }
        record.errorCode = nil
        #expect(ScanStateCodec.record(Substring(ScanStateCodec.line(record))) == record)
        var failed = ScanRecord(path: "x.gif", size: 3, modified: 0)
        failed.errorCode = "unsupported_format"
        failed.errorMessage = "not a JPEG, PNG or WebP image:\tgif"
        #expect(ScanStateCodec.record(Substring(ScanStateCodec.line(failed))) == failed)
        #expect(ScanStateCodec.record("x.jpg\t12") == nil)
    }
}
