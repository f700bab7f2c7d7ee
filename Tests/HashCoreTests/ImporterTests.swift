import CSQLite
import Foundation
import Testing
import TestSupport

@testable import HashCore

/// Reads a list the way a build does: the rows, and the rejections as "line: reason".
func readList(_ path: String, format: ListFormat? = nil, defaults: RowDefaults = RowDefaults()) throws -> (rows: [ListRow], rejected: [String]) {
    var rows: [ListRow] = []
    var rejected: [String] = []
    try ListReader.read(path: path, format: format, defaults: defaults) { result in
        switch result {
        case .success(let row): rows.append(row)
        case .failure(let error): rejected.append("\(error.line ?? 0): \(error.reason)")
        }
    }
    return (rows, rejected)
}

@Suite struct ImporterTests {
    static let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let md5 = "d41d8cd98f00b204e9800998ecf8427e"
    static let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    static let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

    @Test func hashdeepFilesAreReadWithTheirFileNamesAsIds() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("known.hashdeep")
        try """
            %%%% HASHDEEP-1.0
            %%%% size,md5,sha256,filename
            ## Invoked from: /cases/2024-117
            ## $ hashdeep -r images
            ##
            0,\(Self.md5),\(Self.sha256),/cases/2024-117/images/empty, with a comma.jpg
            12,not-hex,\(Self.sha256),/cases/2024-117/images/bad.jpg
            12,\(Self.md5)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: path) == .hashdeep)
        let (rows, rejected) = try readList(path)
        #expect(rows.count == 1)
        #expect(rows.first?.id == "/cases/2024-117/images/empty, with a comma.jpg")
        #expect(rows.first?.digest(.md5)?.hex == Self.md5)
        #expect(rows.first?.digest(.sha256)?.hex == Self.sha256)
        #expect(rejected.count == 2)
        #expect(rejected.first?.hasPrefix("7: md5:") == true)
        #expect(rejected.last?.hasPrefix("8: 2 fields where the header names 4") == true)
    }

    @Test func aHashdeepFileWithoutItsHeaderIsRefusedWhole() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("headless.txt")
        try "0,\(Self.md5),\(Self.sha256),a.jpg\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try readList(path, format: .hashdeep) }
    }

    @Test func pdqListsTakeAnOptionalId() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("threatexchange.txt")
        try """
            # exported 2024-05-01
            \(Self.pdq)
            \(Self.pdq.uppercased()),TE-4411
            \(Self.pdq)\tTE-4412
            f8f8f0cee0f4a84f
            \(Self.pdq.dropLast())z
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ListReader.detectFormat(path: path) == .pdq)
        let (rows, rejected) = try readList(path, defaults: RowDefaults(sources: ["te"]))
        #expect(rows.map(\.id) == [nil, "TE-4411", "TE-4412"])
        #expect(rows.allSatisfy { $0.pdq?.hex == Self.pdq && $0.sources == ["te"] })
        #expect(rejected.map { $0.prefix(3) } == ["5: ", "6: "])
    }

    @Test func nsrlDatabasesGiveTheirFileHashes() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("RDS_2024.03.1_modern_minimal.db")
        try Self.makeNSRL(at: path, rows: [
            (Self.sha256, Self.sha1, Self.md5),
            ("not-a-hash", Self.sha1, Self.md5),
            (String(repeating: "ab", count: 32), String(repeating: "cd", count: 20), String(repeating: "ef", count: 16)),
        ])
        #expect(try ListReader.detectFormat(path: path) == .nsrl)
        let (rows, rejected) = try readList(path)
        #expect(rows.count == 2)
        #expect(rows.first?.digest(.sha1)?.hex == Self.sha1)
        #expect(rejected.count == 1 && rejected[0].hasPrefix("2: sha256:"))
        // Not an NSRL set: a SQLite database without the table.
        let other = directory.file("other.db")
        try Self.execute(at: other, "CREATE TABLE notes (text TEXT);")
        #expect(throws: InputError.self) { try readList(other) }
    }

    @Test func nsrlBecomesAnAllowlist() throws {
        let directory = TemporaryDirectory()
        let nsrl = directory.file("nsrl.db")
        try Self.makeNSRL(at: nsrl, rows: [(Self.sha256, Self.sha1, Self.md5)])
        let builder = try DatabaseBuilder(destination: directory.file("known.hdb"), options: .init(memoryBudget: 1 << 20))
        try builder.add(ListRow(id: "listed", digests: [try Digest(kind: .sha256, hex: Self.sha256)], sources: ["hotline"]))
        try ListReader.read(path: nsrl, defaults: RowDefaults(sources: ["nsrl"], record: .allowed)) { result in
            try builder.addAllowEntries(try result.get().allowEntries(defaultSource: "nsrl", defaultReason: "known software", defaultRadius: 0))
        }
        _ = try builder.write()
        let database = try HashDatabase.open(path: directory.file("known.hdb"))
        #expect(database.allowlistCount == 3)
        #expect(database.allowlistedEntryCount() == 1)
        let result = try database.match(QueryHashes(digests: [try Digest(kind: .sha256, hex: Self.sha256)]))
        #expect(result.matches.isEmpty && result.suppressed.first?.allow.source == "nsrl")
    }

    static func makeNSRL(at path: String, rows: [(String, String, String)]) throws {
        var sql = "CREATE TABLE METADATA (package_id INTEGER, sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR, file_name VARCHAR, file_size INTEGER);"
        for (index, row) in rows.enumerated() {
            sql += "INSERT INTO METADATA VALUES (\(index), '\(row.0)', '\(row.1)', '\(row.2)', 'file\(index).dll', 100);"
        }
        try execute(at: path, sql)
    }

    static func execute(at path: String, _ sql: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK else { throw InputError(file: path, reason: "cannot create") }
        defer { sqlite3_close(handle) }
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
            throw InputError(file: path, reason: String(cString: sqlite3_errmsg(handle)))
        }
    }

    @Test func writtenRowsReadBackTheSame() throws {
        let directory = TemporaryDirectory()
        var removal = ListRow(id: "id, with \"quotes\"\nand a line break", sources: ["review"])
        removal.record = .removed
        removal.reason = "wrongly listed, see ticket \"7\""
        var allowed = ListRow(pdq: try PDQHash(hex: Self.pdq), sources: ["ops"])
        allowed.record = .allowed
        allowed.radius = 12
        allowed.reason = "logo"
        var manifest = ListRow()
        manifest.record = .manifest
        manifest.manifest = "{\"tool\":\"hashdb\",\"inputs\":[\"a,b\"]}"
        manifest.created = 1_700_000_000
        let entry = ListRow(id: "NL-1", digests: [try Digest(kind: .md5, hex: Self.md5)], pdq: try PDQHash(hex: Self.pdq), quality: 77,
                            categories: ["A1", "police, reviewed"], sources: ["hotline"], added: 1_600_000_000)
        let rows = [manifest, removal, allowed, entry]
        for format in ListWriter.Format.allCases {
            let path = directory.file("rows.\(format.rawValue)")
            let lines = (ListWriter.header(format).map { [$0] } ?? []) + rows.map { ListWriter.line($0, format: format) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let (read, rejected) = try readList(path, format: format == .csv ? .csv : .jsonl)
            #expect(rejected.isEmpty)
            #expect(read == rows, "\(format)")
        }
    }
}
