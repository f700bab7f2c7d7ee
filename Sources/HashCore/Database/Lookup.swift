import Synchronization

/// One entry of a database, read out of the file.
public struct DatabaseEntry: Sendable, Equatable {
    /// Position in the file (entries are numbered in the order of their smallest key).
    public let index: Int
    /// The ids its lists gave it, sorted; when none did, one made from its smallest key
    /// ("<kind>:<hex>", sha256:… when the entry has a SHA-256).
    public let ids: [String]
    public let categories: [String]
    public let sources: [String]
    /// Seconds since 1970, UTC; nil when unknown.
    public let added: Int64?
    /// The id was made from the entry's smallest key: no list gave the entry an id.
    public let hasGeneratedID: Bool

    /// The entry's id (the first of its ids).
    public var id: String { ids.first ?? "" }
}

extension HashDatabase {
    /// Reads entry `index`, checking every reference it follows.
    public func entry(_ index: Int) throws(DatabaseError) -> DatabaseEntry {
        guard let record = entries.record(index) else {
            throw .corrupt(path: path, detail: "entry \(index) does not exist (\(entries.count) entries)")
        }
        var entryIDs: [String] = []
        for offset in 0..<record.idCount {
            guard let id = ids.string(record.firstID + offset) else {
                throw .corrupt(path: path, detail: "entry \(index) refers to id \(record.firstID + offset), which is missing or not UTF-8")
            }
            entryIDs.append(id)
        }
        guard let set = labelSets.set(at: record.labelSet) else {
            throw .corrupt(path: path, detail: "entry \(index) refers to a label set at \(record.labelSet) outside its section")
        }
        func names(_ indexes: [Int]) throws(DatabaseError) -> [String] {
            var result: [String] = []
            for label in indexes {
                guard let name = labels.string(label) else {
                    throw .corrupt(path: path, detail: "entry \(index) refers to label \(label), which is missing")
                }
                result.append(name)
            }
            return result
        }
        return DatabaseEntry(index: index, ids: entryIDs, categories: try names(set.categories), sources: try names(set.sources),
                             added: record.added == 0 ? nil : record.added, hasGeneratedID: record.hasGeneratedID)
    }

    /// The entry that holds `digest`, if any.
    public func lookup(_ digest: Digest) -> Int? {
        index(digest.kind).lookup(digest.value)
    }

    /// Entries carrying `id` (usually one; lists may reuse ids). A candidate entry that cannot
    /// be read is an error, not a non-match: a removal by id must never skip an entry silently.
    public func entries(withID id: String) throws(DatabaseError) -> [Int] {
        var found: [Int] = []
        for candidate in idIndex.candidates(forHash: DatabaseFormat.idHash(id.utf8)) where try entry(candidate).ids.contains(id) {
            found.append(candidate)
        }
        return found
    }

    /// Entries whose PDQ hash equals `hash` exactly.
    public func entries(withPDQ hash: PDQHash) -> [Int] {
        pdq.positions(of: hash).map { pdq.entry($0) }
    }

    /// How many entries carry each category and each source. Counting walks every entry
    /// (2.4 GB at 100 M entries), so it is done once per opened file and shared by every copy
    /// of this value: `hashdb info` and each `/v1/info` of a loaded database ask again for free.
    public func labelCounts() throws(DatabaseError) -> LabelCounts {
        try labelCountCache.value { () throws(DatabaseError) in try countLabels() }
    }

    private func countLabels() throws(DatabaseError) -> LabelCounts {
        var setUse: [Int: Int] = [:]
        for index in 0..<entries.count {
            guard let record = entries.record(index) else { continue }
            setUse[record.labelSet, default: 0] += 1
        }
        var categories = [Int](repeating: 0, count: labels.count)
        var sources = [Int](repeating: 0, count: labels.count)
        for (offset, uses) in setUse {
            guard let set = labelSets.set(at: offset) else {
                throw .corrupt(path: path, detail: "a label set at \(offset) runs outside its section")
            }
            for label in set.categories where label < labels.count { categories[label] += uses }
            for label in set.sources where label < labels.count { sources[label] += uses }
        }
        func named(_ counts: [Int]) -> [(String, Int)] {
            counts.indices.compactMap { counts[$0] > 0 ? (labels.string($0) ?? "?", counts[$0]) : nil }
        }
        return (named(categories), named(sources))
    }
}

public typealias LabelCounts = (categories: [(String, Int)], sources: [(String, Int)])
