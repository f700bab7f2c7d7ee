import Foundation

/// Writes the near-match index (section 33) from the sorted PDQ hashes of a build, in bounded
/// memory (see `build`).
enum NearIndexBuilder {
    /// Below this many distinct hashes a scan answers as fast as the index (measured:
    /// docs/BENCHMARKS.md), so no index is written.
    static let minimumHashes = 4096
    /// Substrings of at most this many bits (a directory of 2^24 entries is 64 MiB).
    static let maximumTableBits = 24
    /// The bit permutation every index uses (any fixed one would do; it is stored in the file).
    static let permutationSeed: UInt64 = 0x5044_5148_6173_6864  // "PDQHashd"

    /// How many substrings for `count` distinct hashes. Wider substrings mean more buckets
    /// to probe but fewer hashes in each; measured on uniform hashes at 1 M and 10 M
    /// (docs/BENCHMARKS.md), about 16 buckets a hash (log2 of the count + 4 bits) is fastest,
    /// within the 24-bit directory limit.
    static func tableCount(forHashes count: Int) -> Int {
        let bits = max(12, min(maximumTableBits, Int(log2(Double(max(count, 2))).rounded()) + 4))
        return (256 + bits - 1) / bits
    }

    /// Places the index for the PDQ hashes in `hashesFile` (`count` hashes of 32 bytes, sorted,
    /// repeats adjacent) in `output`, unless there are too few to need one (and no table count
    /// is requested).
    ///
    /// Memory: 4 bytes a distinct hash for each table whose substrings are held at once, and
    /// per table being sorted its directory plus a slice of its rows (see below).
    static func build(hashesFile: String, count: Int, into output: DatabaseOutput, tableCount requested: Int? = nil,
                      memoryBudget: Int = 1 << 30) throws {
        guard count < Int(UInt32.max) else { return }
        let positions = try DistinctPositions(hashesFile: hashesFile)
        let distinctCount = positions.count
        guard distinctCount >= (requested == nil ? minimumHashes : 1) else { return }
        // At least 11 tables, so that no substring exceeds 24 bits.
        let tables = max(requested ?? tableCount(forHashes: distinctCount), (256 + maximumTableBits - 1) / maximumTableBits)
        let layout = TableLayout(tables: tables)
        let permutation = BitPermutation.shuffled(seed: permutationSeed)

        // The section: header, permutation, table records, then each table's directory and rows.
        let recordsStart = NearIndex.headerSize + NearIndex.permutationSize
        var offset = align64(recordsStart + tables * NearIndex.tableRecordSize)
        var header = LittleEndianBytes()
        header.u32(NearIndex.version)
        header.u32(UInt32(tables))
        header.int(distinctCount)
        header.padTo(NearIndex.headerSize)
        header.raw(permutation.destinations)
        var places: [(directory: Int, rows: Int)] = []
        for table in 0..<tables {
            let directoryLength = ((1 << layout.widths[table]) + 1) * 4
            let rowsOffset = align64(offset + directoryLength)
            header.u32(UInt32(layout.widths[table]))
            header.u32(0)
            header.int(offset)
            header.int(rowsOffset)
            header.int(0)
            places.append((offset, rowsOffset))
            offset = rowsOffset + distinctCount * 4
            if table < tables - 1 { offset = align64(offset) }
        }
        let start = output.reserve(.nearIndex, count: distinctCount, length: offset)
        let tablePlaces = places
        let headerWriter = output.writer(at: start, bufferSize: 4096)
        try headerWriter.write(header.bytes)
        try headerWriter.close()

        // Memory: each table sorted holds its substrings (4 bytes a hash), its directory and a
        // slice of its rows; as many tables as the budget allows share a pass over the hashes,
        // and up to one per core sort at once.
        let sliceRows = max(1 << 16, min(distinctCount, 4 << 20))
        let perSort = (1 << layout.widths.max()!) * 4 + sliceRows * 4
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let tablesPerPass = max(1, min(tables, (memoryBudget - cores * perSort) / max(1, distinctCount * 4)))
        let sortsAtOnce = min(cores, tablesPerPass)
        // With several passes, the distinct hashes are permuted once into a file the passes read.
        var permutedFile: String?
        if tablesPerPass < tables {
            permutedFile = hashesFile + ".permuted"
            try writePermuted(hashesFile, permutation: permutation, to: permutedFile!)
        }
        defer { if let permutedFile { try? FileManager.default.removeItem(atPath: permutedFile) } }
        for first in stride(from: 0, to: tables, by: tablesPerPass) {
            let batch = Array(first..<min(tables, first + tablesPerPass))
            let substrings = try readSubstrings(permutedFile ?? hashesFile, permutation: permutedFile == nil ? permutation : nil,
                                                tables: batch, layout: layout, distinctCount: distinctCount)
            let failures = FailureCollector()
            for group in stride(from: 0, to: batch.count, by: sortsAtOnce) {
                let members = Array(batch[group..<min(batch.count, group + sortsAtOnce)])
                DispatchQueue.concurrentPerform(iterations: members.count) { member in
                    let table = members[member]
                    do {
                        try sortTable(substrings[table - first], positions: positions, bits: layout.widths[table], sliceRows: sliceRows,
                                      directory: output.writer(at: start + tablePlaces[table].directory, bufferSize: 4 << 20),
                                      rows: output.writer(at: start + tablePlaces[table].rows, bufferSize: 4 << 20))
                    } catch {
                        failures.record(error)
                    }
                }
                if let failure = failures.first { throw failure }
            }
        }
    }

    /// Where each table's substring lies in the permuted hash: consecutive, the wider first.
    struct TableLayout {
        let widths: [Int]
        let starts: [Int]

        init(tables: Int) {
            widths = (0..<tables).map { 256 / tables + ($0 < 256 % tables ? 1 : 0) }
            var starts: [Int] = []
            var running = 0
            for width in widths {
                starts.append(running)
                running += width
            }
            self.starts = starts
        }
    }

    /// Writes each distinct hash of `hashesFile`, permuted, to `path`.
    private static func writePermuted(_ hashesFile: String, permutation: BitPermutation, to path: String) throws {
        let output = try BufferedFileWriter(path: path, bufferSize: 4 << 20)
        var previous: Bytes32?
        try forEachHash(in: hashesFile) { pointer in
            let hash = Bytes32(loadingFrom: pointer)
            guard hash != previous else { return }
            previous = hash
            try output.write(permutation.apply(bytesAt: pointer))
        }
        try output.close()
    }

    /// The substring values of each distinct hash for the tables in `tables`, one array a
    /// table: from the sorted hashes (repeats skipped) with `permutation`, or from a file of
    /// distinct hashes already permuted (nil).
    private static func readSubstrings(_ file: String, permutation: BitPermutation?, tables: [Int], layout: TableLayout,
                                       distinctCount: Int) throws -> [[UInt32]] {
        var substrings = tables.map { _ in [UInt32](repeating: 0, count: distinctCount) }
        var previous: Bytes32?
        var distinct = 0
        try forEachHash(in: file) { pointer in
            let permuted: Bytes32
            if let permutation {
                let hash = Bytes32(loadingFrom: pointer)
                guard hash != previous else { return }
                previous = hash
                permuted = permutation.apply(bytesAt: pointer)
            } else {
                permuted = Bytes32(loadingFrom: pointer)
            }
            guard distinct < distinctCount else { throw InputError(file: file, reason: "more distinct hashes than counted") }
            for (slot, table) in tables.enumerated() {
                substrings[slot][distinct] = UInt32(permuted.bits(from: layout.starts[table], count: layout.widths[table]))
            }
            distinct += 1
        }
        return substrings
    }

    /// One table: a counting sort of the distinct hashes' positions by substring value (stable,
    /// so positions ascend within a value). The counts become the directory; the rows are
    /// scattered a slice of values at a time, so that only a slice is held.
    private static func sortTable(_ values: [UInt32], positions: DistinctPositions, bits: Int, sliceRows: Int,
                                  directory: BufferedFileWriter, rows: BufferedFileWriter) throws {
        let valueCount = 1 << bits
        var cursor = [UInt32](repeating: 0, count: valueCount + 1)
        cursor.withUnsafeMutableBufferPointer { counts in
            for value in values { counts[Int(value) + 1] += 1 }
            for index in 1..<counts.count { counts[index] += counts[index - 1] }
        }
        try cursor.withUnsafeBufferPointer { try directory.writeLittleEndian(words: $0) }
        try directory.close()

        // Slices of whole values, each holding about `sliceRows` rows.
        var cuts = [0]
        while cuts.last! < valueCount {
            let start = cuts.last!
            let target = UInt64(cursor[start]) + UInt64(sliceRows)
            var low = start + 1
            var high = valueCount
            while low < high {  // the first value whose group ends beyond the target
                let middle = (low + high) / 2
                if UInt64(cursor[middle]) < target { low = middle + 1 } else { high = middle }
            }
            cuts.append(max(start + 1, low))
        }
        var slice = [UInt32](repeating: 0, count: sliceRows)
        for (lower, upper) in zip(cuts, cuts.dropFirst()) {
            let base = cursor[lower]
            let sliceCount = Int(cursor[upper] - base)
            if slice.count < sliceCount { slice = [UInt32](repeating: 0, count: sliceCount) }
            let range = UInt32(lower)..<UInt32(upper)
            cursor.withUnsafeMutableBufferPointer { next in
                slice.withUnsafeMutableBufferPointer { out in
                    positions.forEach { index, position in
                        let value = values[index]
                        guard range.contains(value) else { return }
                        out[Int(next[Int(value)] - base)] = position
                        next[Int(value)] += 1
                    }
                }
            }
            try slice.withUnsafeBufferPointer { try rows.writeLittleEndian(words: UnsafeBufferPointer(rebasing: $0[0..<sliceCount])) }
        }
        try rows.close()
    }

    private static func align64(_ offset: Int) -> Int { (offset + 63) / 64 * 64 }

    /// Calls `body` with a pointer to each 32-byte hash of the file, read in large chunks.
    static func forEachHash(in path: String, _ body: (UnsafeRawPointer) throws -> Void) throws {
        let reader = try BufferedFileReader(path: path, bufferSize: 4 << 20)
        while let chunk = try reader.readAvailable(maximum: 32 * 65_536) {
            var offset = 0
            while offset + 32 <= chunk.count {
                try body(chunk.baseAddress! + offset)
                offset += 32
            }
            if offset < chunk.count {
                // A chunk boundary inside a hash: read its remainder.
                guard let rest = try reader.read(32 - (chunk.count - offset)) else { break }
                var joined = [UInt8](UnsafeRawBufferPointer(rebasing: chunk[offset...]))
                joined += rest
                try joined.withUnsafeBytes { try body($0.baseAddress!) }
            }
        }
    }
}

/// The PDQ table position of each distinct hash: the first row of its run of equal hashes.
/// Held as the runs of more than one row only (most hashes are distinct): distinct hash i is
/// at row i plus the rows repeated before it.
struct DistinctPositions: Sendable {
    /// Distinct hashes.
    let count: Int
    /// For each run of equal hashes longer than one: its distinct index, and the rows repeated
    /// up to and including it. Ascending.
    private let repeats: [(index: Int, repeatedThrough: Int)]

    init(hashesFile: String) throws {
        var repeats: [(Int, Int)] = []
        var previous: Bytes32?
        var distinct = 0
        var repeated = 0
        try NearIndexBuilder.forEachHash(in: hashesFile) { pointer in
            let hash = Bytes32(loadingFrom: pointer)
            if hash == previous {
                repeated += 1
                if repeats.last?.0 == distinct - 1 {
                    repeats[repeats.count - 1].1 = repeated
                } else {
                    repeats.append((distinct - 1, repeated))
                }
            } else {
                distinct += 1
            }
            previous = hash
        }
        count = distinct
        self.repeats = repeats
    }

    /// Calls `body` with each distinct index and its row, in order.
    @inline(__always)
    func forEach(_ body: (Int, UInt32) -> Void) {
        var nextRepeat = 0
        var repeatedBefore = 0
        for index in 0..<count {
            body(index, UInt32(index + repeatedBefore))
            if nextRepeat < repeats.count && repeats[nextRepeat].index == index {
                repeatedBefore = repeats[nextRepeat].repeatedThrough
                nextRepeat += 1
            }
        }
    }
}

/// The first error any of several threads met.
private final class FailureCollector: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var errors: [Error] = []

    func record(_ error: Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }

    var first: Error? {
        lock.lock()
        defer { lock.unlock() }
        return errors.first
    }
}
