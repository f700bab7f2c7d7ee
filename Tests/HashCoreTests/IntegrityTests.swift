import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@testable import HashCore

/// Damage that must stop a run instead of being carried into a new file, and the bounds that
/// hold whatever a damaged file says.
@Suite struct IntegrityTests {
    static func sample(_ directory: TemporaryDirectory, rows count: Int = 300, nearIndexTables: Int? = nil) throws -> (path: String, bytes: [UInt8], rows: [ListRow]) {
        var generator = RowGenerator(seed: 41)
        var rows = (0..<count).map { generator.row(index: $0) }
        rows[0].id = "victim"
        rows[0].setDigest(try Digest(kind: .sha256, hex: String(repeating: "5a", count: 32)))
        let path = directory.file("sample.hdb")
        try build(rows, at: path, nearIndexTables: nearIndexTables)
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), rows)
    }

    /// One changed byte in a label: sound in structure, wrong in content. Every operation
    /// that writes a new file from it refuses it by name instead of re-signing it.
    @Test func damagedInputsAreRefusedByMergesNotGivenAFreshChecksum() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, _) = try Self.sample(directory)
        let database = try HashDatabase.open(path: path)
        let labels = try #require(database.sections.first { $0.kind == SectionKind.labelStrings.rawValue })
        var damaged = bytes
        damaged[labels.offset + labels.length - 2] ^= 0x01
        let damagedPath = directory.file("damaged.hdb")
        try Data(damaged).write(to: URL(fileURLWithPath: damagedPath))
        let other = directory.file("other.hdb")
        try build([ListRow(id: "x", digests: [try Digest(kind: .md5, hex: String(repeating: "11", count: 16))])], at: other)

        #expect(throws: Never.self) { try HashDatabase.open(path: damagedPath) }  // structure alone passes
        #expect(throws: DatabaseError.checksumMismatch(path: damagedPath)) { try HashDatabase.openVerifyingChecksum(path: damagedPath) }
        for operation: DatabaseMerger.Operation in [.union, .difference(nearRadius: nil), .intersection] {
            for inputs in [[damagedPath, other], [other, damagedPath]] {
                let output = directory.file("out.hdb")
                #expect(throws: BuildError.database(.checksumMismatch(path: damagedPath)), "\(operation)") {
                    try merge(inputs, to: output, operation)
                }
                #expect(!FileManager.default.fileExists(atPath: output))
            }
        }
        #expect(throws: Never.self) { try merge([path, other], to: directory.file("sound.hdb")) }
    }

    /// An entry that cannot be read, behind a valid checksum: a removal by its id must stop
    /// the merge, not skip the entry and let it escape the removal.
    @Test func anUnreadableEntryNamedByARemovalStopsTheMerge() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, _) = try Self.sample(directory)
        let entry = try #require(try HashDatabase.open(path: path).entries(withID: "victim").first)
        let entries = try #require(try HashDatabase.open(path: path).sections.first { $0.kind == SectionKind.entries.rawValue })
        var damaged = bytes
        let labelSetField = entries.offset + entry * DatabaseFormat.entryRecordSize + 16
        for offset in 0..<4 { damaged[labelSetField + offset] = 0xFF }
        let damagedPath = directory.file("damaged.hdb")
        try Data(CorruptDatabaseTests.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: damagedPath))
        let database = try HashDatabase.openVerifyingChecksum(path: damagedPath)
        #expect(throws: DatabaseError.self) { try database.entries(withID: "victim") }
        #expect {
            try merge([damagedPath], to: directory.file("out.hdb"), tombstones: [Tombstone(value: .id("victim"), reason: "false positive", source: "review")])
        } throws: { error in
            guard case BuildError.database(.corrupt) = error else { return false }
            return true
        }
    }

    /// A near-index directory that goes down somewhere, behind a valid checksum: refused at
    /// open when the directories are small enough to check, and a search over a larger one
    /// falls back to the scan instead of allocating probes × hashes.
    @Test func aNonMonotonicNearIndexDirectoryIsRefusedAndSearchesStayBounded() throws {
        let directory = TemporaryDirectory()
        let (path, bytes, _) = try Self.sample(directory, rows: 3000, nearIndexTables: 16)
        let sound = try HashDatabase.open(path: path)
        let near = try #require(sound.sections.first { $0.kind == SectionKind.nearIndex.rawValue })
        let record = near.offset + NearIndex.headerSize + NearIndex.permutationSize
        let bits = Int(bytes[record]) | Int(bytes[record + 1]) << 8
        let directoryStart = near.offset + bytes[(record + 8)..<(record + 16)].reversed().reduce(0) { $0 << 8 | Int($1) }
        // Every bucket of table 0 from the middle on claims the whole table.
        var damaged = bytes
        for bucket in 1..<(1 << bits) {
            let value = UInt32(bucket % 2 == 0 ? 0 : sound.pdqCount)
            withUnsafeBytes(of: value.littleEndian) { for offset in 0..<4 { damaged[directoryStart + bucket * 4 + offset] = $0[offset] } }
        }
        let damagedPath = directory.file("damaged.hdb")
        try Data(CorruptDatabaseTests.withValidChecksum(damaged)).write(to: URL(fileURLWithPath: damagedPath))
        do {
            _ = try HashDatabase.open(path: damagedPath)
            Issue.record("a decreasing directory opened")
        } catch {
            #expect("\(error)".contains("directory decreases"), "\(error)")
        }
    }

    /// Hashes that differ only in the bits of the index's first table share one bucket in
    /// every other table: a query probes more rows than there are hashes, and the search
    /// gives way to the scan, with the same answer.
    @Test func aSearchThatWouldTakeMoreCandidatesThanHashesScansInstead() throws {
        let directory = TemporaryDirectory()
        let probe = directory.file("probe.hdb")
        var generator = RowGenerator(seed: 5)
        try build((0..<600).map { _ in ListRow(pdq: PDQHash(bits: generator.bytes32()), quality: 90) }, at: probe, nearIndexTables: 8)
        let layout = try #require(try HashDatabase.open(path: probe).near)
        let firstTableBits = (0..<256).filter { Int(layout.permutation.destinations[$0]) < layout.tables[0].bits }
        var base = PDQHash.zero
        let free = Set(firstTableBits.prefix(10))
        for bit in 0..<256 where !free.contains(bit) && generator.random.next() % 2 == 0 { base.setBit(bit) }
        var rows: [ListRow] = []
        for value in 0..<600 {
            var hash = base
            for (position, bit) in firstTableBits.prefix(10).enumerated() where value & (1 << position) != 0 { hash.setBit(bit) }
            rows.append(ListRow(id: "h\(value)", pdq: hash, quality: 90))
        }
        let path = directory.file("clustered.hdb")
        try build(rows, at: path, nearIndexTables: 8)
        let database = try HashDatabase.open(path: path)
        let near = try #require(database.near)
        #expect(near.permutation.destinations == layout.permutation.destinations)
        #expect(near.search([base], radius: 31, table: database.pdq) == nil)
        let variants = [(base, DihedralTransform.original)]
        let hits = database.nearHits(variants, threshold: 31, minQuality: 0)
        #expect(hits == database.nearHitsByScan(variants, threshold: 31, minQuality: 0))
        #expect(hits.count == 600)
    }

    /// Counting labels walks every entry: done once per opened file, shared by its copies.
    @Test func labelCountsAreComputedOncePerOpenedFile() throws {
        let directory = TemporaryDirectory()
        let (path, _, rows) = try Self.sample(directory)
        let database = try HashDatabase.open(path: path)
        #expect(database.labelCountCache.isEmpty)
        let copy = database
        let counts = try copy.labelCounts()
        #expect(!database.labelCountCache.isEmpty, "a copy's count fills the shared cache")
        #expect(counts.sources.reduce(0) { $0 + $1.1 } >= Set(rows.compactMap(\.id)).count / 2)
        #expect(try database.labelCounts().categories.map(\.0) == counts.categories.map(\.0))
        #expect(try HashDatabase.open(path: path).labelCountCache.isEmpty, "a new open counts anew")
    }

    // MARK: Writes

    /// The temporary file is created with O_EXCL: a link planted under its name is not
    /// followed (the file it points at is left as it was).
    @Test func temporaryFilesAreNeverOpenedThroughAPlantedLink() throws {
        let directory = TemporaryDirectory()
        let victim = directory.file("victim.txt")
        try "keep me".write(toFile: victim, atomically: true, encoding: .utf8)
        let planted = directory.file(".out.hdb.tmp-planted")
        #expect(symlink(victim, planted) == 0)
        #expect(throws: FileIOError.self) { try DatabaseOutput(destination: directory.file("out.hdb"), temporary: planted) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
        let spill = directory.file("rows.spill")
        #expect(symlink(victim, spill) == 0)
        #expect(throws: FileIOError.self) { try BufferedFileWriter(path: spill) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
    }

    /// The directory sync after a rename reports its failure instead of dropping it.
    @Test func aFailedDirectorySyncIsAnError() throws {
        let directory = TemporaryDirectory()
        #expect(throws: FileIOError.self) { try AtomicFile.syncDirectory(containing: directory.file("missing/out.hdb")) }
        #expect(throws: Never.self) { try AtomicFile.syncDirectory(containing: directory.file("out.hdb")) }
    }
}
