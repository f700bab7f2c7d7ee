import Foundation
import Synchronization

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

        // Memory: each table sorted holds its substrings (4 bytes a hash) and a slice of its
        // rows (8 bytes a row); as many tables as the budget allows share a pass over the
        // hashes, and up to one per core sort at once.
        let sliceRows = max(1 << 16, min(distinctCount, 4 << 20))
        let perSort = sliceRows * 8 + (1 << 20)
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var tablesPerPass = max(1, min(tables, (memoryBudget - cores * perSort) / max(1, distinctCount * 4)))
        // Whole groups of `cores` sorts a pass, so that no core waits for a lone last sort.
        if tablesPerPass > cores && tablesPerPass < tables { tablesPerPass -= tablesPerPass % cores }
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
            let substrings = if let permutedFile {
                try readPermutedSubstrings(permutedFile, tables: batch, layout: layout, distinctCount: distinctCount, parts: cores)
            } else {
                try readSubstrings(hashesFile, permutation: permutation, tables: batch, layout: layout, distinctCount: distinctCount)
            }
            let failures = FailureCollector()
            for group in stride(from: 0, to: batch.count, by: sortsAtOnce) {
                let members = Array(batch[group..<min(batch.count, group + sortsAtOnce)])
                DispatchQueue.concurrentPerform(iterations: members.count) { member in
                    let table = members[member]
                    do {
                        try sortTable(substrings.column(table - first), positions: positions, bits: layout.widths[table], sliceRows: sliceRows,
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
        let output = try BufferedFileWriter(path: path, bufferSize: 4 << 20, writeBehind: true)
        var previous: Bytes32?
        try forEachHash(in: hashesFile) { pointer in
            let hash = Bytes32(loadingFrom: pointer)
            guard hash != previous else { return }
            previous = hash
            try output.write(permutation.apply(bytesAt: pointer))
        }
        try output.close()
    }

    /// `readSubstrings` from the file of distinct permuted hashes, its rows split in `parts`
    /// read at once (a pass over hundreds of megabytes otherwise leaves the other cores idle).
    private static func readPermutedSubstrings(_ file: String, tables: [Int], layout: TableLayout, distinctCount: Int,
                                               parts: Int) throws -> SubstringColumns {
        let substrings = SubstringColumns(columns: tables.count, rows: distinctCount)
        let parts = max(1, min(parts, distinctCount / 65_536))
        let failures = FailureCollector()
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let range = (distinctCount * part / parts)..<(distinctCount * (part + 1) / parts)
            do {
                let reader = try BufferedFileReader(path: file, bufferSize: 4 << 20, startingAt: range.lowerBound * 32)
                for row in range {
                    guard let bytes = try reader.read(32) else { throw InputError(file: file, reason: "fewer distinct hashes than counted") }
                    let permuted = Bytes32(loadingFrom: bytes.baseAddress!)
                    substrings.fill(row: row, from: permuted, tables: tables, layout: layout)
                }
            } catch {
                failures.record(error)
            }
        }
        if let failure = failures.first { throw failure }
        return substrings
    }

    /// The substring values of each distinct hash for the tables in `tables`, one array a
    /// table: from the sorted hashes (repeats skipped) with `permutation`, or from a file of
    /// distinct hashes already permuted (nil).
    private static func readSubstrings(_ file: String, permutation: BitPermutation?, tables: [Int], layout: TableLayout,
                                       distinctCount: Int) throws -> SubstringColumns {
        let substrings = SubstringColumns(columns: tables.count, rows: distinctCount)
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
            substrings.fill(row: distinct, from: permuted, tables: tables, layout: layout)
            distinct += 1
        }
        return substrings
    }

    /// One table: the distinct hashes' positions ordered by substring value, stably (positions
    /// ascend within a value), and the directory of where each value's rows start.
    ///
    /// Substrings are uniform, so a counting sort over all 2^bits values touches memory at
    /// random for every hash. Instead the hashes go to 4,096 buckets by their top bits (4,096
    /// write streams stay in cache), a slice of buckets at a time, and each bucket, a few
    /// thousand hashes, is counting-sorted by its low bits in cache. The directory and the rows
    /// then come out in order.
    private static func sortTable(_ values: UnsafeBufferPointer<UInt32>, positions: DistinctPositions, bits: Int, sliceRows: Int,
                                  directory: BufferedFileWriter, rows: BufferedFileWriter) throws {
        let topBits = min(bits, 12)
        let lowBits = bits - topBits
        let bucketCount = 1 << topBits
        let lowCount = 1 << lowBits
        // Hashes per bucket, and the buckets' starts among all rows.
        var bucketStarts = [Int](repeating: 0, count: bucketCount + 1)
        bucketStarts.withUnsafeMutableBufferPointer { starts in
            for value in values { starts[Int(value >> lowBits) + 1] += 1 }
            for bucket in 0..<bucketCount { starts[bucket + 1] += starts[bucket] }
        }

        // Slices of whole buckets, each of about `sliceRows` rows (one bucket may exceed it).
        var slices: [Range<Int>] = []
        var first = 0
        while first < bucketCount {
            var end = first + 1
            while end < bucketCount && bucketStarts[end + 1] - bucketStarts[first] <= sliceRows { end += 1 }
            slices.append(first..<end)
            first = end
        }
        let largestSlice = slices.map { bucketStarts[$0.upperBound] - bucketStarts[$0.lowerBound] }.max() ?? 0
        // A row in a slice: its low bits above, its position below.
        var sliceBuffer = [UInt64](repeating: 0, count: largestSlice)
        var bucketRows = [UInt32](repeating: 0, count: 0)
        var lowStarts = [UInt32](repeating: 0, count: lowCount + 1)
        var directoryWords = [UInt32](repeating: 0, count: lowCount)
        var cursor = [Int](repeating: 0, count: bucketCount)
        let lowMask = UInt32(lowCount - 1)

        for slice in slices {
            let sliceBase = bucketStarts[slice.lowerBound]
            for bucket in slice { cursor[bucket] = bucketStarts[bucket] - sliceBase }
            let topRange = UInt32(slice.lowerBound)..<UInt32(slice.upperBound)
            sliceBuffer.withUnsafeMutableBufferPointer { out in
                cursor.withUnsafeMutableBufferPointer { next in
                    positions.forEach { index, position in
                        let value = values[index]
                        let top = value >> lowBits
                        guard topRange.contains(top) else { return }
                        out[next[Int(top)]] = UInt64(value & lowMask) << 32 | UInt64(position)
                        next[Int(top)] += 1
                    }
                }
            }
            for bucket in slice {
                let segment = (bucketStarts[bucket] - sliceBase)..<(bucketStarts[bucket + 1] - sliceBase)
                if bucketRows.count < segment.count { bucketRows = [UInt32](repeating: 0, count: segment.count) }
                let rowsBefore = UInt32(bucketStarts[bucket])
                sliceBuffer.withUnsafeBufferPointer { rowsOfSlice in
                    lowStarts.withUnsafeMutableBufferPointer { starts in
                        directoryWords.withUnsafeMutableBufferPointer { words in
                            bucketRows.withUnsafeMutableBufferPointer { sorted in
                                for index in 0..<starts.count { starts[index] = 0 }
                                for row in rowsOfSlice[segment] { starts[Int(row >> 32) + 1] += 1 }
                                for low in 0..<lowCount {
                                    starts[low + 1] += starts[low]
                                    words[low] = rowsBefore + starts[low]
                                }
                                for row in rowsOfSlice[segment] {
                                    let low = Int(row >> 32)
                                    sorted[Int(starts[low])] = UInt32(truncatingIfNeeded: row)
                                    starts[low] += 1
                                }
                            }
                        }
                    }
                }
                try directoryWords.withUnsafeBufferPointer { try directory.writeLittleEndian(words: $0) }
                try bucketRows.withUnsafeBufferPointer { try rows.writeLittleEndian(words: UnsafeBufferPointer(rebasing: $0[0..<segment.count])) }
            }
        }
        try directory.writeLittleEndian(UInt32(values.count))
        try directory.close()
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

/// The substring values of the distinct hashes for a few tables: one column a table, each
/// `rows` long, allocated (zeroed) here and freed with the object. Several threads may fill
/// it at once, each its own rows (readers split the rows into disjoint ranges); it is read
/// only after they are done.
final class SubstringColumns: @unchecked Sendable {
    let rows: Int
    private let columns: [UnsafeMutableBufferPointer<UInt32>]

    init(columns: Int, rows: Int) {
        self.rows = rows
        self.columns = (0..<columns).map { _ in
            let column = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: rows)
            column.initialize(repeating: 0)
            return column
        }
    }

    deinit {
        for column in columns { column.deallocate() }
    }

    /// Row `row` of every column: the substrings of `permuted` for `tables` (column i holds
    /// table `tables[i]`).
    @inline(__always)
    func fill(row: Int, from permuted: Bytes32, tables: [Int], layout: NearIndexBuilder.TableLayout) {
        precondition(row >= 0 && row < rows)
        for (column, table) in tables.enumerated() {
            columns[column][row] = UInt32(permuted.bits(from: layout.starts[table], count: layout.widths[table]))
        }
    }

    func column(_ index: Int) -> UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(columns[index]) }
}

/// The first error any of several threads met.
private final class FailureCollector: Sendable {
    private let firstError = Mutex<(any Error & Sendable)?>(nil)

    func record(_ error: any Error & Sendable) {
        firstError.withLock { first in
            if first == nil { first = error }
        }
    }

    var first: Error? { firstError.withLock { $0 } }
}
