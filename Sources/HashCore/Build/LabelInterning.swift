import CShims
import Foundation

/// Category and source ids of one row (label ids in the order first seen), sorted.
struct RowLabelSet: Hashable {
    var categories: [UInt32]
    var sources: [UInt32]
}

/// Category and source ids of one entry (final label ids), sorted.
struct EntryLabelSet: Hashable {
    var categories: [UInt32]
    var sources: [UInt32]
}

/// A list of labels compared and hashed by their UTF-8 bytes. (Swift compares strings by
/// canonical equivalence: "é" and "e\u{301}" are equal, and which spelling was stored would
/// depend on which came first.)
struct LabelList: Hashable {
    let labels: [String]

    init(_ labels: [String]) {
        self.labels = labels
    }

    static func == (lhs: LabelList, rhs: LabelList) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        // Readers hand out one array per distinct field value: most lists compared share storage.
        let shared = lhs.labels.withUnsafeBufferPointer { left in
            rhs.labels.withUnsafeBufferPointer { right in left.baseAddress == right.baseAddress }
        }
        return shared || zip(lhs.labels, rhs.labels).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    func hash(into hasher: inout Hasher) {
        for label in labels {
            hasher.combine(label.utf8.count)
            for byte in label.utf8 { hasher.combine(byte) }
        }
    }
}

/// Category and source names, each given an id when first seen (by their UTF-8 bytes); at
/// the end renumbered in byte order, which is what the file stores.
struct LabelInterner {
    private var ids: [[UInt8]: UInt32] = [:]
    private var names: [String] = []

    /// How many distinct names have been seen.
    var count: Int { names.count }

    mutating func ids(_ labels: [String]) -> [UInt32] {
        var result: [UInt32] = []
        for label in labels {
            let bytes = Array(label.utf8)
            if let id = ids[bytes] {
                result.append(id)
            } else {
                let id = UInt32(names.count)
                ids[bytes] = id
                names.append(label)
                result.append(id)
            }
        }
        return Array(Set(result)).sorted()
    }

    /// The names in `keeping` (first-seen ids) in byte order, and for each first-seen id its
    /// position among them.
    func sortedMapping(keeping: Set<UInt32>) -> (names: [String], mapping: [UInt32]) {
        let order = names.indices.filter { keeping.contains(UInt32($0)) }.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        var mapping = [UInt32](repeating: .max, count: names.count)
        for (position, id) in order.enumerated() {
            mapping[id] = UInt32(position)
        }
        return (order.map { names[$0] }, mapping)
    }
}
