import CShims
import Foundation

/// The rows of one entry, merged into reused buffers (an entry has a few rows: small arrays
/// sorted and deduplicated beat sets and dictionaries, and reusing them saves allocations).
struct RowMerger {
    /// Ranges of the id arena, sorted by their bytes, without repeats.
    private(set) var ids: [Range<Int>] = []
    private(set) var categories: [UInt32] = []
    private(set) var sources: [UInt32] = []
    private(set) var added: Int64?
    /// Distinct PDQ hashes with the best known quality of each (-1: unknown).
    private(set) var pdqs: [(hash: PDQHash, quality: Int)] = []

    mutating func merge(_ rows: [SpilledRow], ids idBytes: ByteBuffer, labelSets: [RowLabelSet], labelMapping: [UInt32]) {
        ids.removeAll(keepingCapacity: true)
        categories.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
        pdqs.removeAll(keepingCapacity: true)
        added = nil
        for row in rows {
            if let id = row.id { ids.append(id) }
            let set = labelSets[Int(row.labelSet)]
            for category in set.categories { categories.append(labelMapping[Int(category)]) }
            for source in set.sources { sources.append(labelMapping[Int(source)]) }
            if let time = row.added, time != 0 { added = min(added ?? time, time) }
            if let pdq = row.pdq { pdqs.append((pdq, row.quality ?? -1)) }
        }
        let bytes = idBytes.bytes
        func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
        ids.sort { slice($0).lexicographicallyPrecedes(slice($1)) }
        Self.removeAdjacentRepeats(&ids) { slice($0).elementsEqual(slice($1)) }
        categories.sort()
        Self.removeAdjacentRepeats(&categories, ==)
        sources.sort()
        Self.removeAdjacentRepeats(&sources, ==)
        // Best quality first among equal hashes, so the first of each run is kept.
        pdqs.sort { $0.hash.bits != $1.hash.bits ? $0.hash.bits < $1.hash.bits : $0.quality > $1.quality }
        Self.removeAdjacentRepeats(&pdqs) { $0.hash == $1.hash }
    }

    private static func removeAdjacentRepeats<T>(_ values: inout [T], _ same: (T, T) -> Bool) {
        guard values.count > 1 else { return }
        var kept = 1
        for index in 1..<values.count where !same(values[kept - 1], values[index]) {
            values[kept] = values[index]
            kept += 1
        }
        values.removeLast(values.count - kept)
    }
}
