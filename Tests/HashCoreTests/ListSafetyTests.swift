import CSQLite
import Foundation
import Testing
import TestSupport

@testable import HashCore

/// What a list supplier controls: the format a file is taken for, record sizes, the bytes of
/// ids, and (for NSRL) a whole SQLite schema.
@Suite struct ListSafetyTests {
    static let sha256 = ImporterTests.sha256
    static let sha1 = ImporterTests.sha1
    static let md5 = ImporterTests.md5
    static let pdq = ImporterTests.pdq

    /// Output of the real coreutils programs: never taken for a PDQ list.
    @Test func checksumFilesFromCoreutilsAreDigestLists() throws {
        let directory = TemporaryDirectory()
        let images = TestPaths.fixtures.appendingPathComponent("images/png").path
        let files = try FileManager.default.contentsOfDirectory(atPath: images).sorted().prefix(4).map { "\(images)/\($0)" }
        for (program, kind) in [("sha256sum", DigestKind.sha256), ("sha1sum", .sha1), ("md5sum", .md5)] {
            for tag in [false, true] {
                let listed = String(decoding: try standardOutput(of: "/usr/bin/\(program)", (tag ? ["--tag"] : []) + files), as: UTF8.self)
                let path = directory.file("\(program)\(tag ? "-tag" : "").txt")
                try listed.write(toFile: path, atomically: true, encoding: .utf8)
                #expect(try ListReader.detectFormat(path: path) == .checksums, "\(program) tag \(tag)")
                let (rows, rejected) = try readList(path)
                #expect(rejected.isEmpty, "\(rejected)")
                #expect(rows.map(\.id) == files)
                #expect(rows.allSatisfy { $0.pdq == nil && $0.digest(kind) != nil }, "\(program)")
                let expected = try files.map { try Fingerprinter().fingerprint(path: $0).digests[kind].hex }
                #expect(rows.map { $0.digest(kind)?.hex } == expected, "\(program) tag \(tag)")
            }
        }
    }

    @Test func checksumLinesWithEscapedNamesAndOtherAlgorithms() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mixed.sha")
        try """
            \(Self.sha256)  plain name.jpg
            \(Self.sha256) *binary-mode.jpg
            \\\(Self.md5)  line\\nbreak\\\\back.jpg
            SHA1 (tagged (1).jpg) = \(Self.sha1)
            \(String(repeating: "ab", count: 64))  sha512.jpg

            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: path) == .checksums)
        let (rows, rejected) = try readList(path)
        #expect(rows.map(\.id) == ["plain name.jpg", "binary-mode.jpg", "line\nbreak\\back.jpg", "tagged (1).jpg"])
        #expect(rows[2].digest(.md5)?.hex == Self.md5 && rows[3].digest(.sha1)?.hex == Self.sha1)
        #expect(rejected.count == 1 && rejected[0].hasPrefix("5: SHA512 digests are not stored"), "\(rejected)")
    }

    /// The rule for a 64-hex first column: two spaces (or " *") make a checksum line, a comma,
    /// tab or single space a PDQ line; `--format` decides for a file either way.
    @Test func theSeparatorDecidesBetweenPDQAndSHA256AndFormatOverrides() throws {
        let directory = TemporaryDirectory()
        let pdqList = directory.file("pdq.txt")
        try "\(Self.pdq) TE-1\n\(Self.pdq),TE-2\n\(Self.pdq)\n".write(toFile: pdqList, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: pdqList) == .pdq)
        let sums = directory.file("sums.txt")
        try "\(Self.pdq)  a.jpg\n\(Self.pdq)  b.jpg\n".write(toFile: sums, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: sums) == .checksums)
        #expect(try readList(sums).rows.allSatisfy { $0.digest(.sha256)?.hex == Self.pdq && $0.pdq == nil })
        // A file of both kinds of line is neither: it is read as CSV and refused for its header.
        let mixed = directory.file("mixed.txt")
        try "\(Self.pdq) TE-1\n\(Self.pdq)  a.jpg\n".write(toFile: mixed, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: mixed) == .csv)
        #expect(throws: InputError.self) { try readList(mixed) }
        // Forced: the same checksum file read as a PDQ list gives PDQ rows named by file.
        #expect(try readList(sums, format: .pdq).rows.allSatisfy { $0.pdq?.hex == Self.pdq && $0.id == "a.jpg" || $0.id == "b.jpg" })
    }

    /// One record over the limit costs that row, not the file; memory stays bounded.
    @Test func anOversizedRecordIsReportedAndTheFileGoesOn() throws {
        let directory = TemporaryDirectory()
        let huge = String(repeating: "x", count: DelimitedReader.maximumRecordBytes + 10)
        let cases: [(String, String, ListFormat)] = [
            ("list.csv", "id,sha256\nA,\(Self.sha256)\n\(huge),\(Self.sha256)\nC,\(Self.sha256)\n", .csv),
            ("quote.csv", "id,sha256\nA,\(Self.sha256)\n\"\(huge),\(Self.sha256)\nC,\(Self.sha256)\n", .csv),
            ("list.tsv", "id\tsha256\nA\t\(Self.sha256)\n\(huge)\t\(Self.sha256)\nC\t\(Self.sha256)\n", .tsv),
            ("list.jsonl", "{\"id\":\"A\",\"sha256\":\"\(Self.sha256)\"}\n{\"id\":\"\(huge)\"}\n{\"id\":\"C\",\"sha256\":\"\(Self.sha256)\"}\n", .jsonl),
            ("list.pdq", "\(Self.pdq),A\n\(Self.pdq),\(huge)\n\(Self.pdq),C\n", .pdq),
            ("list.sums", "\(Self.sha256)  A\n\(Self.sha256)  \(huge)\n\(Self.sha256)  C\n", .checksums),
        ]
        for (name, text, format) in cases {
            let path = directory.file(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let (rows, rejected) = try readList(path, format: format)
            #expect(rows.map(\.id) == ["A", "C"], "\(name): \(rows.map(\.id))")
            #expect(rejected.count == 1 && rejected[0].contains("longer than"), "\(name): \(rejected.map { $0.prefix(120) })")
            #expect(rejected.first?.hasPrefix(format == .csv || format == .tsv ? "3:" : "2:") == true, "\(name): \(rejected)")
        }
    }

    /// Ids whose bytes are not UTF-8 are refused per row: repairing them would make
    /// "A\u{FF}" and "A\u{FE}" the same id.
    @Test func idsThatAreNotUTF8AreRejectedPerRow() throws {
        let directory = TemporaryDirectory()
        let inputs: [(String, [UInt8], ListFormat)] = [
            ("ids.csv", Array("id,sha256\n".utf8) + [0x41, 0xFF] + Array(",\(Self.sha256)\nB,\(Self.sha256)\n".utf8), .csv),
            ("ids.pdq", Array("\(Self.pdq),".utf8) + [0x41, 0xFE] + Array("\n\(Self.pdq),B\n".utf8), .pdq),
            ("ids.sums", Array("\(Self.sha256)  ".utf8) + [0x41, 0xC0] + Array("\n\(Self.sha256)  B\n".utf8), .checksums),
        ]
        for (name, bytes, format) in inputs {
            let path = directory.file(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (rows, rejected) = try readList(path, format: format)
            #expect(rows.map(\.id) == ["B"], "\(name)")
            #expect(rejected.count == 1 && rejected[0].contains("UTF-8"), "\(name): \(rejected)")
        }
    }

    /// A crafted RDSv3 file: a view in place of the documented table (here a recursive one
    /// that would yield rows without end) is refused, not run.
    @Test func nsrlFilesAreOpenedDefensively() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("hostile.db")
        try ImporterTests.execute(at: path, """
            CREATE VIEW METADATA AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
              SELECT '\(Self.sha256)' AS sha256, '\(Self.sha1)' AS sha1, '\(Self.md5)' AS md5 FROM n;
            """)
        #expect(try ListReader.detectFormat(path: path) == .nsrl)
        do {
            _ = try readList(path)
            Issue.record("a view was read as an NSRL table")
        } catch let error as InputError {
            #expect(error.reason.contains("view"), "\(error)")
        }
        // A table whose column holds a value longer than any hash: the length limit stops it.
        let long = directory.file("long.db")
        try ImporterTests.execute(at: long, """
            CREATE TABLE METADATA (sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR);
            INSERT INTO METADATA VALUES (printf('%.*c', 2000000, 'a'), '\(Self.sha1)', '\(Self.md5)');
            INSERT INTO METADATA VALUES ('\(Self.sha256)', '\(Self.sha1)', '\(Self.md5)');
            """)
        #expect(throws: InputError.self) { try readList(long) }
        // The documented table still reads.
        let sound = directory.file("sound.db")
        try ImporterTests.makeNSRL(at: sound, rows: [(Self.sha256, Self.sha1, Self.md5)])
        #expect(try readList(sound).rows.count == 1)
    }
}
