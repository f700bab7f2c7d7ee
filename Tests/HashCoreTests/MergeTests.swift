import Foundation
import Testing
import TestSupport

@testable import HashCore

/// Every section's bytes but the manifest's (which names the inputs): two databases with the
/// same map hold the same entries, labels, indexes, removals and allowlist.
func contentSections(_ path: String) throws -> [UInt32: [UInt8]] {
    let database = try HashDatabase.open(path: path)
    var sections: [UInt32: [UInt8]] = [:]
    for record in database.sections where record.kind != SectionKind.manifest.rawValue {
        sections[record.kind] = Array(UnsafeRawBufferPointer(start: database.file.base + record.offset, count: record.length))
    }
    return sections
}

@discardableResult
func merge(_ inputs: [String], to path: String, _ operation: DatabaseMerger.Operation = .union, tombstones: [Tombstone] = [],
           allows: [AllowEntry] = [], filter: DatabaseMerger.SourceFilter = .init()) throws -> DatabaseMerger.Summary {
    let merger = try DatabaseMerger(destination: path, options: .init(memoryBudget: 1 << 20))
    for input in inputs { merger.add(try HashDatabase.open(path: input)) }
    merger.addTombstones(tombstones)
    try merger.addAllowEntries(allows)
    merger.sourceFilter = filter
    return try merger.write(operation)
}

/// Two lists that overlap: B repeats some of A's digests (with other labels), links two of A's
/// entries through a row holding a digest of each, and adds rows of its own.
struct OverlappingLists {
    var a: [ListRow] = []
    var b: [ListRow] = []

    init(seed: UInt64, count: Int = 400) {
        var generator = RowGenerator(seed: seed)
        a = (0..<count).map { generator.row(index: $0) }
        b = (0..<count).map { generator.row(index: count + $0) }
        for index in stride(from: 0, to: count, by: 7) {
            var shared = b[index]
            if let digest = a[index].digests.first {
                shared.setDigest(digest)
            } else {
                shared.pdq = a[index].pdq
                shared.sha256 = nil
                shared.sha1 = nil
                shared.md5 = nil
            }
            shared.categories = ["from-b"]
            shared.sources = ["list-b"]
            b[index] = shared
        }
        for index in stride(from: 3, to: count - 1, by: 50) {
            // One row of B holding a digest of two different A rows joins them.
            guard let first = a[index].digest(.sha256), let second = a[index + 1].digest(.md5) else { continue }
            b.append(ListRow(id: "joiner-\(index)", digests: [first, second], sources: ["list-b"]))
        }
        // PDQ-only rows on both sides sharing a hash.
        let pdq = PDQHash(bits: generator.bytes32())
        a.append(ListRow(id: "pdq-a", pdq: pdq, sources: ["list-a"]))
        b.append(ListRow(pdq: pdq, categories: ["pdq-only"], sources: ["list-b"]))
    }
}

@Suite struct MergeTests {
    @Test func mergingDatabasesEqualsBuildingTheirRowsTogether() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 11)
        try build(lists.a, at: directory.file("a.hdb"))
        try build(lists.b, at: directory.file("b.hdb"))
        try build(lists.a + lists.b, at: directory.file("both.hdb"))
        let summary = try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("merged.hdb"))
        #expect(try contentSections(directory.file("merged.hdb")) == contentSections(directory.file("both.hdb")))
        #expect(summary.entries == (try HashDatabase.open(path: directory.file("both.hdb")).entryCount))
        #expect(summary.mergedEntries > 0)
        #expect(try HashDatabase.open(path: directory.file("merged.hdb")).verify().isEmpty)
    }

    @Test func unionIsCommutative() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 12)
        try build(lists.a, at: directory.file("a.hdb"))
        try build(lists.b, at: directory.file("b.hdb"))
        try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("ab.hdb"))
        try merge([directory.file("b.hdb"), directory.file("a.hdb")], to: directory.file("ba.hdb"))
        #expect(try contentSections(directory.file("ab.hdb")) == contentSections(directory.file("ba.hdb")))
    }

    @Test func subtractThenUnionRestoresAllButTheRemoved() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 13)
        // A carries removals naming two of B's own rows, by digest and by id.
        let removedByDigest = try #require(lists.b[20].digests.first)
        let removedID = "removed-id"
        var b = lists.b
        b[30].id = removedID
        b[30].sha256 = Bytes32(w0: 42, w1: 42, w2: 42, w3: 42)
        let tombstones = [Tombstone(value: .digest(removedByDigest), reason: "false positive", source: "review"),
                          Tombstone(value: .id(removedID), reason: "withdrawn", source: "review")]
        let builder = try DatabaseBuilder(destination: directory.file("a.hdb"), options: .init(memoryBudget: 1 << 20))
        for row in lists.a { try builder.add(row) }
        builder.addTombstones(tombstones)
        _ = try builder.write()
        try build(b, at: directory.file("b.hdb"))

        try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("a-minus-b.hdb"), .difference(nearRadius: nil))
        try merge([directory.file("a-minus-b.hdb"), directory.file("b.hdb")], to: directory.file("restored.hdb"))
        try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("union.hdb"))
        // The same entries, matched by digest: none gained, none lost. (An entry of A that B
        // also has comes back as B has it, so its labels may differ.)
        let comparison = try DatabaseDiff.compare(old: try HashDatabase.open(path: directory.file("union.hdb")),
                                                  new: try HashDatabase.open(path: directory.file("restored.hdb")), workDirectory: directory.path)
        #expect(comparison.added == 0 && comparison.removed == 0)
        #expect(comparison.unchanged > comparison.changed)

        let union = try HashDatabase.open(path: directory.file("union.hdb"))
        #expect(union.lookup(removedByDigest) == nil)
        #expect(try union.entries(withID: removedID).isEmpty)
        #expect(try union.tombstones().count == 2)
        let difference = try HashDatabase.open(path: directory.file("a-minus-b.hdb"))
        for row in b {
            for digest in row.digests { #expect(difference.lookup(digest) == nil) }
        }
    }

    @Test func diffOfAAndItsMergeWithBListsExactlyBsNewEntries() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 14)
        try build(lists.a, at: directory.file("a.hdb"))
        try build(lists.b, at: directory.file("b.hdb"))
        try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("ab.hdb"))
        let a = try HashDatabase.open(path: directory.file("a.hdb"))
        let b = try HashDatabase.open(path: directory.file("b.hdb"))

        var added: [DatabaseDiff.Item] = []
        let summary = try DatabaseDiff.compare(old: a, new: try HashDatabase.open(path: directory.file("ab.hdb")), workDirectory: directory.path) { item in
            if item.change == .added { added.append(item) }
            #expect(item.change != .removed)
        }
        // B's entries that share no key with A, found the slow way.
        let bKeys = try entryKeys(b)
        let aKeys = Set(try entryKeys(a).flatMap { $0 })
        let newInB = bKeys.indices.filter { Set(bKeys[$0]).isDisjoint(with: aKeys) }
        #expect(summary.added == newInB.count)
        #expect(Set(added.map { $0.new.map(\.ids) }) == Set(try newInB.map { [try b.entry($0).ids] }))
        #expect(summary.removed == 0)
        #expect(summary.changed > 0)
    }

    /// Each entry's keys as "kind:hex" (digests; the PDQ hash for an entry without one).
    func entryKeys(_ database: HashDatabase) throws -> [[String]] {
        var keys = [[String]](repeating: [], count: database.entryCount)
        let directory = TemporaryDirectory()
        try database.forEachExportedEntry(workDirectory: directory.path) { entry in
            keys[entry.index] = entry.digests.isEmpty ? entry.pdqs.map { "pdq:\($0.hash.hex)" } : entry.digests.map { "\($0.kind.rawValue):\($0.hex)" }
        }
        return keys
    }

    @Test func intersectionKeepsWhatEveryInputHas() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 15)
        try build(lists.a, at: directory.file("a.hdb"))
        try build(lists.b, at: directory.file("b.hdb"))
        let summary = try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("both.hdb"), .intersection)
        let both = try HashDatabase.open(path: directory.file("both.hdb"))
        let a = try HashDatabase.open(path: directory.file("a.hdb"))
        let b = try HashDatabase.open(path: directory.file("b.hdb"))
        #expect(summary.entries > 0 && summary.entries < a.entryCount)
        for keys in try entryKeys(both) {
            let digests = keys.filter { !$0.hasPrefix("pdq:") }.map { key -> Digest in
                let parts = key.split(separator: ":")
                return try! Digest(kind: DigestKind(rawValue: String(parts[0]))!, hex: String(parts[1]))
            }
            if digests.isEmpty { continue }
            #expect(digests.contains { a.lookup($0) != nil })
            #expect(digests.contains { b.lookup($0) != nil })
        }
        for index in 0..<both.entryCount {
            #expect(try both.entry(index).sources.contains("list-b"))
        }
    }

    @Test func subtractNearRemovesEntriesWithinTheRadius() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 16)
        let base = PDQHash(bits: generator.bytes32())
        let close = NearSearchTests.flip(base, bits: 5, using: &generator)
        let far = NearSearchTests.flip(base, bits: 60, using: &generator)
        try build([ListRow(id: "close", digests: [generator.digest(.sha256)], pdq: close, quality: 100, sources: ["a"]),
                   ListRow(id: "far", digests: [generator.digest(.sha256)], pdq: far, quality: 100, sources: ["a"])], at: directory.file("a.hdb"))
        try build([ListRow(id: "known", digests: [generator.digest(.sha256)], pdq: base, quality: 100, sources: ["b"])], at: directory.file("b.hdb"))
        try merge([directory.file("a.hdb"), directory.file("b.hdb")], to: directory.file("out.hdb"), .difference(nearRadius: 10))
        let out = try HashDatabase.open(path: directory.file("out.hdb"))
        #expect(try (0..<out.entryCount).map { try out.entry($0).id } == ["far"])
    }

    @Test func sourceFiltersKeepOrDropOneList() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 17)
        try build(lists.a + lists.b, at: directory.file("all.hdb"))
        try merge([directory.file("all.hdb")], to: directory.file("kept.hdb"), filter: .init(keep: ["list-b"]))
        try merge([directory.file("all.hdb")], to: directory.file("dropped.hdb"), filter: .init(drop: ["list-b"]))
        let all = try HashDatabase.open(path: directory.file("all.hdb"))
        let kept = try HashDatabase.open(path: directory.file("kept.hdb"))
        let dropped = try HashDatabase.open(path: directory.file("dropped.hdb"))
        let withB = try (0..<all.entryCount).filter { try all.entry($0).sources.contains("list-b") }.count
        let onlyB = try (0..<all.entryCount).filter { try all.entry($0).sources == ["list-b"] }.count
        #expect(kept.entryCount == withB)
        #expect(dropped.entryCount == all.entryCount - onlyB)
        for index in 0..<dropped.entryCount {
            #expect(try !dropped.entry(index).sources.contains("list-b"))
        }
        #expect(try dropped.labelCounts().sources.allSatisfy { $0.0 != "list-b" })
    }

    @Test func removalsStickWhenAnOldListComesBack() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 18)
        try build(lists.a, at: directory.file("a.hdb"))
        let victim = lists.a[5]
        let digest = try #require(victim.digests.first)
        try merge([directory.file("a.hdb")], to: directory.file("cleaned.hdb"),
                  tombstones: [Tombstone(value: .digest(digest), reason: "site logo", source: "analyst")])
        // Tonight's rebuild with the old list: the entry stays out.
        try build(lists.a, at: directory.file("old-list.hdb"))
        try merge([directory.file("cleaned.hdb"), directory.file("old-list.hdb")], to: directory.file("tonight.hdb"))
        let tonight = try HashDatabase.open(path: directory.file("tonight.hdb"))
        #expect(tonight.lookup(digest) == nil)
        #expect(tonight.entryCount == (try HashDatabase.open(path: directory.file("a.hdb")).entryCount) - 1)
        let explained = try tonight.match(QueryHashes(digests: [digest]), options: MatchOptions(explain: true))
        #expect(explained.matches.isEmpty)
        #expect(explained.removals.map(\.reason) == ["site logo"])
        // A build given the removal after the rows, by id, drops the row too.
        let builder = try DatabaseBuilder(destination: directory.file("by-id.hdb"), options: .init(memoryBudget: 1 << 20))
        for row in lists.a { try builder.add(row) }
        let id = try #require(lists.a.first { $0.id != nil }?.id)
        builder.addTombstones([Tombstone(value: .id(id), reason: "withdrawn", source: "analyst")])
        let summary = try builder.write()
        #expect(summary.removedEntries == 1)
        #expect(try HashDatabase.open(path: directory.file("by-id.hdb")).entries(withID: id).isEmpty)
    }

    @Test func allowlistSuppressesExactAndNearMatches() throws {
        let directory = TemporaryDirectory()
        var generator = RowGenerator(seed: 19)
        let logo = PDQHash(bits: generator.bytes32())
        let logoDigest = generator.digest(.sha256)
        let other = generator.digest(.sha256)
        try build([ListRow(id: "logo", digests: [logoDigest], pdq: logo, quality: 100, sources: ["l"]),
                   ListRow(id: "real", digests: [other], pdq: NearSearchTests.flip(logo, bits: 3, using: &generator), quality: 100, sources: ["l"])],
                  at: directory.file("a.hdb"))
        try merge([directory.file("a.hdb")], to: directory.file("allowed.hdb"), allows: [
            AllowEntry(value: .digest(logoDigest), reason: "site logo", source: "ops"),
            AllowEntry(value: .pdq(logo), radius: 8, reason: "site logo", source: "ops"),
        ])
        let database = try HashDatabase.open(path: directory.file("allowed.hdb"))
        #expect(database.allowlistCount == 2)
        // The allowlisted digest: nothing at all.
        let byDigest = try database.match(QueryHashes(digests: [logoDigest], pdq: logo))
        #expect(byDigest.matches.isEmpty)
        #expect(byDigest.suppressed.map(\.scope) == [.all])
        // Another file whose PDQ is near the logo: its exact match stays, near matches go.
        let near = try database.match(QueryHashes(digests: [other], pdq: NearSearchTests.flip(logo, bits: 4, using: &generator)))
        #expect(near.matches.map(\.kind) == [.sha256])
        #expect(near.suppressed.first?.scope == .near)
        // Outside the radius: near matches as usual.
        let outside = try database.match(QueryHashes(pdq: NearSearchTests.flip(logo, bits: 20, using: &generator)), options: MatchOptions(threshold: 40))
        #expect(outside.suppressed.isEmpty)
        #expect(!outside.matches.isEmpty)
        #expect(database.verify().isEmpty)
    }

    @Test func aDamagedInputIsRefusedNotReadOutOfBounds() throws {
        let directory = TemporaryDirectory()
        let lists = OverlappingLists(seed: 20, count: 50)
        try build(lists.a, at: directory.file("a.hdb"))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.file("a.hdb"))))
        let database = try HashDatabase.open(path: directory.file("a.hdb"))
        // Point the first SHA-256 key at an entry that does not exist.
        let record = try #require(database.sections.first { $0.kind == SectionKind.sha256Index.rawValue })
        let entriesOffset = record.offset + Int(database.sha256.entries.address(0) - (database.file.base + record.offset))
        bytes.replaceSubrange(entriesOffset..<(entriesOffset + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("bad.hdb")))
        #expect {
            try merge([directory.file("bad.hdb")], to: directory.file("out.hdb"))
        } throws: { error in
            guard case BuildError.database = error else { return false }
            return true
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("out.hdb")))
    }
}

@Suite struct MergeStageTests {
    @Test func nodeGroupsOfARangeHoldExactlyItsEntriesNodes() {
        var generator = SeededGenerator(seed: 21)
        let entryCount = 500
        let entries = (0..<2_000).map { _ in generator.next() % 9 == 0 ? EntryNumbering.removed : UInt32(generator.next() % UInt64(entryCount)) }
        let numbering = EntryNumbering(entries: entries, entryCount: entryCount, removedSets: 0, canonicalOrdinals: CanonicalOrdinals(bits: []))
        for range in [0..<500, 0..<1, 130..<260, 499..<500] {
            let groups = NodeGroups(entryOfNode: numbering, entries: range)
            for entry in range {
                let expected = entries.indices.filter { entries[$0] == UInt32(entry) }.map(UInt32.init)
                #expect(Array(groups.nodes(of: entry)) == expected)
            }
        }
    }

    @Test func distinctPositionsSkipRepeatedHashes() throws {
        let directory = TemporaryDirectory()
        // Hashes 0 0 1 2 2 2 3 4 4: distinct ones start at rows 0, 2, 3, 6, 7.
        let hashes: [UInt64] = [0, 0, 1, 2, 2, 2, 3, 4, 4]
        let writer = try BufferedFileWriter(path: directory.file("hashes"))
        for value in hashes { try writer.write(Bytes32(w0: value, w1: 0, w2: 0, w3: 0)) }
        try writer.close()
        let positions = try DistinctPositions(hashesFile: directory.file("hashes"))
        var seen: [UInt32] = []
        positions.forEach { index, row in
            #expect(index == seen.count)
            seen.append(row)
        }
        #expect(positions.count == 5)
        #expect(seen == [0, 2, 3, 6, 7])
    }
}
