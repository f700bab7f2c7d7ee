import Foundation
import Testing
import TestSupport

@testable import HashCore

/// A temporary directory removed when the test ends.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Random rows for databases the tests build.
struct RowGenerator {
    var random: SeededGenerator

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    mutating func bytes32() -> Bytes32 {
        Bytes32(w0: random.next(), w1: random.next(), w2: random.next(), w3: random.next())
    }

    mutating func digest(_ kind: DigestKind) -> Digest {
        Digest(kind: kind, value: Bytes32(bytes: bytes32().bytes(count: kind.byteCount)))
    }

    mutating func row(index: Int) -> ListRow {
        var row = ListRow()
        let choice = random.next() % 8
        if choice & 1 != 0 || choice == 0 { row.setDigest(digest(.sha256)) }
        if choice & 2 != 0 { row.setDigest(digest(.sha1)) }
        if choice & 4 != 0 { row.setDigest(digest(.md5)) }
        if random.next() % 3 != 0 {
            row.pdq = PDQHash(bits: bytes32())
            row.quality = random.next() % 5 == 0 ? nil : Int(random.next() % 101)
        }
        if random.next() % 4 != 0 { row.id = "row-\(index)" }
        row.categories = random.next() % 5 == 0 ? [] : ["cat-\(random.next() % 4)"]
        row.sources = ["source-\(random.next() % 3)"]
        row.added = random.next() % 3 == 0 ? nil : Int64(1_600_000_000 + Int(random.next() % 100_000_000))
        return row
    }
}

@discardableResult
func build(_ rows: [ListRow], at path: String, memoryBudget: Int = 1 << 20, created: Int64? = nil, nearIndexTables: Int? = nil) throws -> DatabaseBuilder.Summary {
    let builder = try DatabaseBuilder(destination: path, options: .init(memoryBudget: memoryBudget, createdAt: created, nearIndexTables: nearIndexTables))
    for row in rows {
        try builder.add(row)
    }
    return try builder.write()
}

@Suite struct DatabaseRoundTripTests {
    @Test func everyDigestIsFoundWithItsMetadataAndAbsentOnesAreNot() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 42)
        let rows = (0..<3000).map { generator.row(index: $0) }
        // A tiny sort budget forces many spilled runs and a real k-way merge.
        let summary = try build(rows, at: directory.file("db"), memoryBudget: 64 << 10)
        #expect(summary.rows == 3000)
        #expect(summary.entries == 3000, "random digests never collide, so no rows merge")
        let database = try HashDatabase.open(path: directory.file("db"))
        #expect(database.verify().isEmpty)
        #expect(database.entryCount == 3000)
        for row in rows {
            var entryIndexes = Set<Int>()
            for digest in row.digests {
                let found = try #require(database.lookup(digest), "\(digest) not found")
                entryIndexes.insert(found)
            }
            if !row.hasDigest, let pdq = row.pdq {
                entryIndexes.formUnion(database.entries(withPDQ: pdq))
            }
            #expect(entryIndexes.count == 1, "a row's hashes lead to one entry")
            let entry = try database.entry(try #require(entryIndexes.first))
            if let id = row.id {
                #expect(entry.ids == [id])
                #expect(try database.entries(withID: id) == [entry.index])
            } else {
                #expect(entry.ids.count == 1 && entry.ids[0].contains(":"), "an entry without ids is named by its smallest key")
            }
            #expect(entry.categories == row.categories)
            #expect(entry.sources == row.sources)
            #expect(entry.added == row.added)
            if let pdq = row.pdq {
                #expect(database.entries(withPDQ: pdq).contains(entry.index))
            }
        }
        for _ in 0..<500 {
            for kind in DigestKind.allCases {
                #expect(database.lookup(generator.digest(kind)) == nil)
            }
        }
    }

    @Test func rowsSharingADigestMergeTransitively() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 7)
        let (a, b, c) = (generator.digest(.sha256), generator.digest(.md5), generator.digest(.sha1))
        let pdq = PDQHash(bits: generator.bytes32())
        let rows = [
            ListRow(id: "hotline-1", digests: [a, b], categories: ["A1"], sources: ["hotline"], added: 2000),
            ListRow(id: "police-9", digests: [b, c], categories: ["B2"], sources: ["police"], added: 1000),
            ListRow(digests: [c], categories: ["A1"], sources: ["ncmec"], added: 3000),
            ListRow(id: "te-1", pdq: pdq, quality: 80, sources: ["te"]),
            ListRow(id: "te-2", pdq: pdq, quality: 90, sources: ["te2"]),
        ]
        try build(rows, at: directory.file("db"))
        let database = try HashDatabase.open(path: directory.file("db"))
        #expect(database.entryCount == 2)
        let merged = try database.entry(try #require(database.lookup(a)))
        #expect(database.lookup(b) == merged.index && database.lookup(c) == merged.index)
        #expect(merged.ids == ["hotline-1", "police-9"])
        #expect(merged.categories == ["A1", "B2"])
        #expect(merged.sources == ["hotline", "ncmec", "police"])
        #expect(merged.added == 1000, "the earliest added time")
        let pdqEntry = try database.entry(try #require(database.entries(withPDQ: pdq).first))
        #expect(pdqEntry.ids == ["te-1", "te-2"])
        #expect(database.pdqCount == 1, "one PDQ row for the entry, with the best quality")
        #expect(database.pdq.quality(0) == 90)
    }

    @Test func sameRowsGiveTheSameBytesInAnyOrder() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 9)
        let rows = (0..<500).map { generator.row(index: $0) }
        try build(rows, at: directory.file("a"))
        try build(rows.reversed(), at: directory.file("b"), memoryBudget: 32 << 10)
        try build(rows, at: directory.file("c"), created: 1_700_000_000)
        let a = try Data(contentsOf: directory.url.appendingPathComponent("a"))
        let b = try Data(contentsOf: directory.url.appendingPathComponent("b"))
        let c = try Data(contentsOf: directory.url.appendingPathComponent("c"))
        #expect(a == b)
        #expect(a != c, "a creation time is recorded only when asked for")
        #expect(try HashDatabase.open(path: directory.file("c")).createdAt == 1_700_000_000)
        #expect(try HashDatabase.open(path: directory.file("a")).createdAt == nil)
    }

    @Test func emptyDatabaseIsValid() throws {
        let directory = TemporaryDirectory()
        try build([], at: directory.file("empty"))
        let database = try HashDatabase.open(path: directory.file("empty"))
        #expect(database.entryCount == 0)
        #expect(database.verify().isEmpty)
        #expect(try database.match(QueryHashes(digests: [Digest(kind: .md5, value: .zero)], pdq: .zero)).matches.isEmpty)
    }

    @Test func replacingADatabaseLeavesOpenReadersOnTheOldFile() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 11)
        let first = ListRow(id: "first", digests: [generator.digest(.sha256)])
        let second = ListRow(id: "second", digests: [generator.digest(.sha256)])
        try build([first], at: directory.file("db"))
        let old = try HashDatabase.open(path: directory.file("db"))
        try build([second], at: directory.file("db"))
        let new = try HashDatabase.open(path: directory.file("db"))
        #expect(try old.entry(0).id == "first")
        #expect(old.verify().isEmpty)
        #expect(try new.entry(0).id == "second")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no temporary files or working directories remain: \(leftovers)")
    }
}

@Suite struct NearSearchTests {
    /// Stored hashes: random ones, clusters around a few centres, duplicates, all-zero and
    /// all-one; queries at distances 0...64 from stored ones. Results must equal a scan.
    @Test(arguments: [0, 5, 10, 31, 32, 64])
    func nearMatchesEqualBruteForce(threshold: Int) throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: UInt64(100 + threshold))
        var hashes: [PDQHash] = (0..<400).map { _ in PDQHash(bits: generator.bytes32()) }
        let centres = hashes.prefix(5)
        for centre in centres {
            for distance in 0...40 {
                hashes.append(Self.flip(centre, bits: distance, using: &generator))
            }
        }
        hashes += [.zero, .zero, PDQHash(bits: Bytes32(w0: ~0, w1: ~0, w2: ~0, w3: ~0))]
        let rows = hashes.enumerated().map { ListRow(id: "h\($0.offset)", pdq: $0.element, quality: $0.offset % 10 == 0 ? 20 : 90) }
        try build(rows, at: directory.file("db"))
        let database = try HashDatabase.open(path: directory.file("db"))

        var queries = (0..<60).map { index in Self.flip(hashes[index * 7 % hashes.count], bits: index % 65, using: &generator) }
        queries += [.zero, PDQHash(bits: generator.bytes32())]
        for query in queries {
            for minQuality in [0, 50] {
                let found = database.nearHits([(query, .original)], threshold: threshold, minQuality: minQuality)
                var expected: [Int: Int] = [:]
                for (index, hash) in hashes.enumerated() {
                    let quality = index % 10 == 0 ? 20 : 90
                    let distance = hash.distance(to: query)
                    guard distance <= threshold, quality >= minQuality else { continue }
                    let entry = try #require(try database.entries(withID: "h\(index)").first)
                    expected[entry] = min(expected[entry] ?? Int.max, distance)
                }
                #expect(Dictionary(uniqueKeysWithValues: found.map { ($0.entry, $0.distance) }) == expected)
            }
        }
    }

    /// The index must return exactly what a scan returns, for every radius it serves, for
    /// uniform, clustered, repeated, all-zero and all-one hashes, with and without variants.
    @Test(arguments: [11, 13, 16])
    func indexEqualsScanAtEveryRadius(tables: Int) throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: UInt64(tables))
        var hashes: [PDQHash] = (0..<2000).map { _ in PDQHash(bits: generator.bytes32()) }
        for centre in hashes.prefix(20) {
            for distance in stride(from: 0, through: 40, by: 2) {
                hashes.append(Self.flip(centre, bits: distance, using: &generator))
            }
        }
        hashes += Array(hashes[0..<50])  // the same hash under other ids
        hashes += [.zero, .zero, PDQHash(bits: Bytes32(w0: ~0, w1: ~0, w2: ~0, w3: ~0))]
        let rows = hashes.enumerated().map { ListRow(id: "h\($0.offset)", pdq: $0.element, quality: 90) }
        try build(rows, at: directory.file("db"), nearIndexTables: tables)
        let database = try HashDatabase.open(path: directory.file("db"))
        #expect(database.hasNearIndex)
        #expect(database.verify().isEmpty)
        var queries = (0..<40).map { index in Self.flip(hashes[index * 37 % hashes.count], bits: index % 41, using: &generator) }
        queries += [.zero, PDQHash(bits: Bytes32(w0: ~0, w1: ~0, w2: ~0, w3: ~0))]
        for query in queries {
            for radius in 0...31 {
                let indexed = database.nearHits([(query, .original)], threshold: radius, minQuality: 0)
                let scanned = database.nearHitsByScan([(query, .original)], threshold: radius, minQuality: 0)
                #expect(indexed == scanned, "radius \(radius)")
            }
        }
        // Variants: each entry once, at its smallest distance, with the variant that reached it.
        for query in queries.prefix(10) {
            let variants = DihedralTransform.allCases.map { (Self.flip(query, bits: $0.rawValue * 3, using: &generator), $0) }
            #expect(database.nearHits(variants, threshold: 31, minQuality: 0) == database.nearHitsByScan(variants, threshold: 31, minQuality: 0))
        }
    }

    /// Real PDQ hashes are not uniform (correlated bits, near-duplicate clusters): the fixture
    /// images' and the conformance set's hashes with all their rotations and flips.
    @Test func indexEqualsScanOnRealHashes() throws {
        var tables = [try TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.tsv"))]
        if TestPaths.conformanceAvailable {
            tables.append(try TSVTable(contentsOf: TestPaths.conformance.appendingPathComponent("expected.tsv")))
        }
        var hashes: [PDQHash] = []
        for table in tables {
            for row in table.rows {
                let dihedral = row["dihedral"].map { $0.split(separator: ",").map(String.init) }
                    ?? ["pdq", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"].compactMap { row[$0] }
                hashes += try dihedral.map { try PDQHash(hex: $0) }
            }
        }
        #expect(hashes.count >= 300)
        let directory = TemporaryDirectory()
        try build(hashes.enumerated().map { ListRow(id: "real\($0.offset)", pdq: $0.element) }, at: directory.file("db"), nearIndexTables: 11)
        let database = try HashDatabase.open(path: directory.file("db"))
        #expect(database.hasNearIndex)
        #expect(database.verify().isEmpty)
        var generator = RowGenerator(seed: 77)
        for (index, hash) in hashes.enumerated() where index % 3 == 0 {
            let query = Self.flip(hash, bits: index % 20, using: &generator)
            for radius in [0, 8, 16, 24, 31] {
                #expect(database.nearHits([(query, .original)], threshold: radius, minQuality: 0)
                        == database.nearHitsByScan([(query, .original)], threshold: radius, minQuality: 0))
            }
        }
    }

    static func flip(_ hash: PDQHash, bits count: Int, using generator: inout RowGenerator) -> PDQHash {
        var positions = Set<Int>()
        while positions.count < count {
            positions.insert(Int(generator.random.next() % 256))
        }
        var bits = hash.bits
        for position in positions {
            let mask = UInt64(1) << UInt64(position & 63)
            switch position >> 6 {
            case 0: bits.w0 ^= mask
            case 1: bits.w1 ^= mask
            case 2: bits.w2 ^= mask
            default: bits.w3 ^= mask
            }
        }
        return PDQHash(bits: bits)
    }

    @Test func matchOrdersExactFirstAndFiltersByLabel() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 5)
        let sha = generator.digest(.sha256)
        let pdq = PDQHash(bits: generator.bytes32())
        try build([
            ListRow(id: "exact", digests: [sha], pdq: pdq, quality: 100, categories: ["A1"], sources: ["x"]),
            ListRow(id: "near", pdq: NearSearchTests.flip(pdq, bits: 3, using: &generator), quality: 100, categories: ["B2"], sources: ["y"]),
            ListRow(id: "far", pdq: NearSearchTests.flip(pdq, bits: 40, using: &generator), quality: 100, categories: ["B2"], sources: ["y"]),
            ListRow(id: "weak", pdq: NearSearchTests.flip(pdq, bits: 1, using: &generator), quality: 10, categories: ["B2"], sources: ["y"]),
        ], at: directory.file("db"))
        let database = try HashDatabase.open(path: directory.file("db"))
        let query = QueryHashes(digests: [sha], pdq: pdq, quality: 100)
        let all = try database.match(query)
        #expect(all.matches.map(\.entry.id) == ["exact", "near"], "exact first, each entry once; far and low-quality left out")
        #expect(all.matches.map(\.kind) == [.sha256, .pdq])
        #expect(all.matches[1].distance == 3)
        #expect(try database.match(query, options: MatchOptions(categories: ["B2"])).matches.map(\.entry.id) == ["near"])
        #expect(try database.match(query, options: MatchOptions(sources: ["x"])).matches.map(\.entry.id) == ["exact"])
        #expect(try database.match(query, options: MatchOptions(minQuality: 0)).matches.map(\.entry.id) == ["exact", "weak", "near"])
        let blank = try database.match(QueryHashes(pdq: pdq, quality: 10))
        #expect(blank.matches.isEmpty)
        #expect(blank.nearSkipped?.contains("quality 10") == true)
    }
}

@Suite struct CorruptDatabaseTests {
    static func sampleDatabase(_ directory: TemporaryDirectory) throws -> (path: String, bytes: [UInt8], rows: [ListRow]) {
        var generator = RowGenerator(seed: 3)
        let rows = (0..<300).map { generator.row(index: $0) }
        let path = directory.file("db")
        try build(rows, at: path)
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), rows)
    }

    /// Opens a damaged file and, if it opens, uses every read path on it: none may crash.
    /// `readErrors` counts the reads that reported the file corrupt.
    static func exercise(_ path: String, rows: [ListRow]) -> (opened: Bool, problems: [String], readErrors: Int) {
        guard let database = try? HashDatabase.open(path: path) else { return (false, [], 0) }
        var readErrors = 0
        func read(_ body: () throws -> Void) {
            do { try body() } catch { readErrors += 1 }
        }
        for row in rows {
            for digest in row.digests {
                if let index = database.lookup(digest) { read { _ = try database.entry(index) } }
            }
            if let id = row.id { read { _ = try database.entries(withID: id) } }
            if let pdq = row.pdq { read { _ = try database.match(QueryHashes(pdq: pdq), options: MatchOptions(threshold: 40, minQuality: 0)) } }
        }
        read { _ = try database.labelCounts() }
        return (true, database.verify(), readErrors)
    }

    /// What a damaged file with a valid checksum must give: refused at open, problems from
    /// verify, or, when verify calls it sound, reads that all succeed (verify's "sound" holds).
    static func expectHonest(_ outcome: (opened: Bool, problems: [String], readErrors: Int), _ comment: Comment) {
        #expect(!outcome.opened || !outcome.problems.isEmpty || outcome.readErrors == 0, comment)
    }

    /// The file with its checksum recomputed, as a writer's bug or a crafted file would have it.
    static func withValidChecksum(_ bytes: [UInt8]) -> [UInt8] {
        var zeroed = bytes
        let field = DatabaseFormat.checksumOffset..<(DatabaseFormat.checksumOffset + DatabaseFormat.checksumSize)
        zeroed.replaceSubrange(field, with: repeatElement(0, count: field.count))
        let digest = SHA256Stream()
        zeroed.withUnsafeBytes { digest.update($0) }
        var stored = [UInt8](repeating: 0, count: DatabaseFormat.checksumSize)
        stored.withUnsafeMutableBytes { digest.finish().store(to: $0.baseAddress!) }
        zeroed.replaceSubrange(field, with: stored)
        return zeroed
    }

    /// Damage behind a valid checksum: verify finds it in the structures themselves, with a
    /// budget of one pass and with one so small that it takes many.
    @Test func structuralDamageBehindAValidChecksumIsReported() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 8)
        let path = directory.file("db")
        try build((0..<2000).map { generator.row(index: $0) }, at: path, nearIndexTables: 32)
        let sound = try HashDatabase.open(path: path)
        let budgets = [512 << 20, 4096]
        for budget in budgets {
            #expect(sound.verify(memoryBudget: budget).isEmpty, "budget \(budget)")
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Self.withValidChecksum(bytes) == bytes)
        func section(_ kind: SectionKind) throws -> SectionRecord {
            try #require(sound.sections.first { $0.kind == kind.rawValue })
        }
        // Two records of the id index swapped.
        let idIndex = try section(.idIndex)
        var swappedIDs = bytes
        for offset in 0..<DatabaseFormat.idIndexRecordSize {
            swappedIDs.swapAt(idIndex.offset + offset, idIndex.offset + 700 * DatabaseFormat.idIndexRecordSize + offset)
        }
        // Two rows of the near index's first table swapped (the table record holds where its rows start).
        let near = try section(.nearIndex)
        let record = near.offset + NearIndex.headerSize + NearIndex.permutationSize
        let rowsStart = near.offset + bytes[(record + 16)..<(record + 24)].reversed().reduce(0) { $0 << 8 | Int($1) }
        var swappedRows = bytes
        for offset in 0..<4 { swappedRows.swapAt(rowsStart + offset, rowsStart + 4 * 900 + offset) }

        for (name, damaged, expected) in [("id index", swappedIDs, "id index record"), ("near index", swappedRows, "near index table 0:")] {
            let damagedPath = directory.file(name)
            try Data(Self.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: damagedPath))
            let database = try HashDatabase.open(path: damagedPath)
            #expect(database.checksumMatches(), "\(name)")
            for budget in budgets {
                let problems = database.verify(memoryBudget: budget)
                #expect(problems.contains { $0.hasPrefix(expected) }, "\(name), budget \(budget): \(problems)")
            }
        }
    }

    @Test func truncationAtEverySectionBoundaryIsRefused() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, rows) = try Self.sampleDatabase(directory)
        let database = try HashDatabase.open(path: path)
        var cuts = Set([0, 1, 7, 8, 63, 64, 127, 128, bytes.count - 1])
        for section in database.sections {
            cuts.formUnion([section.offset, section.offset + 1, section.offset + section.length - 1, section.offset + section.length].filter { $0 < bytes.count })
        }
        for cut in cuts.sorted() {
            let damaged = directory.file("cut-\(cut)")
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: damaged))
            #expect(throws: DatabaseError.self, "truncated at \(cut)") { try HashDatabase.open(path: damaged) }
            _ = Self.exercise(damaged, rows: rows)
        }
    }

    @Test func byteFlipsAreReportedNeverCrash() throws {
        let directory = TemporaryDirectory()
        let (_, bytes, rows) = try Self.sampleDatabase(directory)
        var generator = SeededGenerator(seed: 99)
        for trial in 0..<300 {
            var damaged = bytes
            let flips = 1 + Int(generator.next() % 4)
            for _ in 0..<flips {
                let position = Int(generator.next() % UInt64(bytes.count))
                damaged[position] ^= UInt8(1 + generator.next() % 255)
            }
            let path = directory.file("flip-\(trial)")
            // The checksum alone would catch every flip; with it recomputed, the structural
            // checks and the reads are what is tested.
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            #expect((try? HashDatabase.open(path: path))?.checksumMatches() != true || damaged == bytes)
            try Data(Self.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: path))
            Self.expectHonest(Self.exercise(path, rows: rows), "trial \(trial): verify called a file sound that reads as corrupt")
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func extremeCountsAndOffsetsAreRefused() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, rows) = try Self.sampleDatabase(directory)
        let database = try HashDatabase.open(path: path)
        var targets: [Int] = [16, 24, 32, 48]  // header: file size, table offset, section count, entries
        var contentTargets: Set<Int> = []
        for index in database.sections.indices {
            let record = DatabaseFormat.headerSize + index * DatabaseFormat.sectionRecordSize
            targets += [record + 8, record + 16, record + 24]
            let content = [database.sections[index].offset, database.sections[index].offset + 8].filter { $0 + 8 <= bytes.count }
            targets += content
            contentTargets.formUnion(content)
        }
        for (number, target) in targets.enumerated() {
            for value: UInt64 in [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, .max] {
                var damaged = bytes
                withUnsafeBytes(of: value.littleEndian) { raw in
                    for offset in 0..<8 { damaged[target + offset] = raw[offset] }
                }
                let damagedPath = directory.file("extreme-\(number)-\(value)")
                try Data(Self.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: damagedPath))
                let outcome = Self.exercise(damagedPath, rows: rows)
                if damaged != bytes {
                    if contentTargets.contains(target) {
                        // A section's first words may be content (a date, a count that holds).
                        Self.expectHonest(outcome, "field at \(target) = \(value): verify called a file sound that reads as corrupt")
                    } else {
                        #expect(!outcome.opened || !outcome.problems.isEmpty, "field at \(target) = \(value) went unnoticed behind a valid checksum")
                    }
                }
                try? FileManager.default.removeItem(atPath: damagedPath)
            }
        }
    }

    /// A thousand damaged copies — bytes flipped, cut short, two sections' places swapped, a
    /// header or table field set to an extreme — each refused on open or reported by verify.
    @Test func aThousandCorruptionsAreEachReported() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, rows) = try Self.sampleDatabase(directory)
        let sections = try HashDatabase.open(path: path).sections
        var generator = SeededGenerator(seed: 2026)
        var kinds: [String: Int] = [:]
        for trial in 0..<1_000 {
            var damaged = bytes
            let kind: String
            var detail = ""
            switch generator.next() % 10 {
            case 0..<4:
                kind = "flip"
                for _ in 0..<(1 + Int(generator.next() % 3)) {
                    damaged[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(1 + generator.next() % 255)
                }
            case 4, 5:
                kind = "truncate"
                damaged = Array(bytes[0..<Int(generator.next() % UInt64(bytes.count))])
            case 6, 7:
                kind = "swap"
                let a = Int(generator.next() % UInt64(sections.count))
                var b = Int(generator.next() % UInt64(sections.count))
                if a == b { b = (a + 1) % sections.count }
                // Swap the two records' offset fields: each section now points at the other's bytes.
                for field in [8, 16] {
                    let ra = DatabaseFormat.headerSize + a * DatabaseFormat.sectionRecordSize + field
                    let rb = DatabaseFormat.headerSize + b * DatabaseFormat.sectionRecordSize + field
                    for offset in 0..<8 { damaged.swapAt(ra + offset, rb + offset) }
                }
            default:
                kind = "extreme"
                detail = ""
                let fields = [16, 24, 32, 48] + sections.indices.flatMap { index in
                    [8, 16, 24].map { DatabaseFormat.headerSize + index * DatabaseFormat.sectionRecordSize + $0 }
                }
                let target = fields[Int(generator.next() % UInt64(fields.count))]
                let values: [UInt64] = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, .max, generator.next()]
                let value = values[Int(generator.next() % UInt64(values.count))]
                detail = "field at \(target) = \(value)"
                withUnsafeBytes(of: value.littleEndian) { raw in
                    for offset in 0..<8 { damaged[target + offset] = raw[offset] }
                }
            }
            guard damaged != bytes else { continue }
            kinds[kind, default: 0] += 1
            let damagedPath = directory.file("damaged-\(trial)")
            // Recomputed, so that the checksum cannot be what notices (a truncated file has no
            // whole checksum to recompute: its size field disagrees).
            try Data(kind == "truncate" ? damaged : Self.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: damagedPath))
            let outcome = Self.exercise(damagedPath, rows: rows)
            if kind == "flip" {
                Self.expectHonest(outcome, "trial \(trial) (flip): verify called a file sound that reads as corrupt")
            } else {
                #expect(!outcome.opened || !outcome.problems.isEmpty, "trial \(trial) (\(kind) \(detail)) went unnoticed behind a valid checksum")
            }
            try? FileManager.default.removeItem(atPath: damagedPath)
        }
        #expect(kinds.values.reduce(0, +) >= 990, "\(kinds)")
        #expect(kinds.count == 4, "\(kinds)")
    }

    @Test func notADatabaseAndFutureVersionsAreNamed() throws {
        let directory = TemporaryDirectory()
        let (_, bytes, _) = try Self.sampleDatabase(directory)
        let text = directory.file("text")
        try Data("id,sha256\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: DatabaseError.notADatabase(path: text)) { try HashDatabase.open(path: text) }
        var future = bytes
        future[8] = 2
        let futurePath = directory.file("future")
        try Data(future).write(to: URL(fileURLWithPath: futurePath))
        #expect(throws: DatabaseError.unsupportedVersion(path: futurePath, major: 2, minor: Int(DatabaseFormat.minorVersion))) {
            try HashDatabase.open(path: futurePath)
        }
        #expect(throws: DatabaseError.self) { try HashDatabase.open(path: directory.file("missing")) }
    }
}
