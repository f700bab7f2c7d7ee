import Foundation

/// What changed between two databases (`hashdb diff`): entries are matched across them by
/// shared digests (or, without digests, PDQ hashes), exactly as a merge would link them.
public enum DatabaseDiff {
    public enum Change: String, Sendable {
        /// In the new database only.
        case added
        /// In the old database only.
        case removed
        /// In both, with different categories or sources.
        case changed
    }

    /// One linked group of entries that changed: usually one entry on each side that has one.
    public struct Item: Sendable {
        public var change: Change
        /// The group's smallest key, "<kind>:<hex>" (what identifies it on both sides).
        public var key: String
        public var old: [DatabaseEntry]
        public var new: [DatabaseEntry]
    }

    public struct Summary: Sendable, Equatable {
        public var oldEntries = 0
        public var newEntries = 0
        public var added = 0
        public var removed = 0
        public var changed = 0
        public var unchanged = 0
        public var oldTombstones = 0
        public var newTombstones = 0
        public var oldAllowEntries = 0
        public var newAllowEntries = 0
    }

    /// Compares `old` and `new`, calling `body` (when given) with each change, in key order.
    /// Working files go to `workDirectory`; memory is 8 bytes an entry plus `memoryBudget`.
    public static func compare(old: HashDatabase, new: HashDatabase, workDirectory: String, memoryBudget: Int = 256 << 20,
                               _ body: ((Item) throws -> Void)? = nil) throws -> Summary {
        var summary = Summary()
        summary.oldEntries = old.entryCount
        summary.newEntries = new.entryCount
        summary.oldTombstones = old.tombstoneCount
        summary.newTombstones = new.tombstoneCount
        summary.oldAllowEntries = old.allowlistCount
        summary.newAllowEntries = new.allowlistCount

        let keyStream = workDirectory + "/diff-keys.spill"
        var union = try DatabaseUnion(databases: [old, new], excluded: nil, tombstones: [], keyStreamPath: keyStream)
        let (forest, distinctKeys, _) = try union.link()
        let numbering = (consume forest).entryNumbers(distinctKeys: distinctKeys)  // in place, as in a build
        let groups = ExternalSorter<UInt64>(directory: workDirectory, name: "diff-groups", memoryBudget: memoryBudget)
        for node in 0..<union.nodeCount where numbering.entries[node] != EntryNumbering.removed {
            try groups.add(UInt64(numbering.entries[node]) << 32 | UInt64(node))
        }
        let keys = try CanonicalKeyReader(path: keyStream, canonical: numbering.canonicalOrdinals)

        var currentGroup = -1
        var oldSide: [Int] = []
        var newSide: [Int] = []
        func finishGroup() throws {
            guard currentGroup >= 0 else { return }
            let change: Change?
            if oldSide.isEmpty {
                change = .added
                summary.added += 1
            } else if newSide.isEmpty {
                change = .removed
                summary.removed += 1
            } else {
                let before = try oldSide.map { try old.entry($0) }
                let after = try newSide.map { try new.entry($0) }
                if labels(before) == labels(after) {
                    change = nil
                    summary.unchanged += 1
                } else {
                    change = .changed
                    summary.changed += 1
                }
            }
            if let change, let body {
                try body(Item(change: change, key: try keys.key(forEntry: currentGroup),
                              old: try oldSide.map { try old.entry($0) }, new: try newSide.map { try new.entry($0) }))
            }
            oldSide.removeAll(keepingCapacity: true)
            newSide.removeAll(keepingCapacity: true)
        }
        try groups.forEachSorted { key, _ in
            let group = Int(key >> 32)
            if group != currentGroup {
                try finishGroup()
                currentGroup = group
            }
            let (input, entry) = union.locate(Int(key & 0xFFFF_FFFF))
            if input == 0 { oldSide.append(entry) } else { newSide.append(entry) }
        }
        try finishGroup()
        return summary
    }

    /// The categories and sources of a side of a group, as sets of bytes.
    private static func labels(_ entries: [DatabaseEntry]) -> [Set<[UInt8]>] {
        [Set(entries.flatMap(\.categories).map { Array($0.utf8) }), Set(entries.flatMap(\.sources).map { Array($0.utf8) })]
    }
}
