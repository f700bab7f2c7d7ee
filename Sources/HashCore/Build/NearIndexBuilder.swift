import Foundation

/// Writes the near-match index (section 33) from the sorted PDQ hashes of a build, in memory
/// bounded by one table at a time: 4 bytes a distinct hash plus the table's directory.
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

    /// The index section for the PDQ hashes in `hashesFile` (`count` hashes of 32 bytes,
    /// sorted, repeats adjacent), or nil when there are too few to need one (unless a table
    /// count is requested).
    static func build(hashesFile: String, count: Int, workDirectory: String, tableCount requested: Int? = nil) throws -> SectionContent? {
        // A cheap pass counts the distinct hashes (the table count depends on it); a second
        // writes, for each distinct hash (the first position of its run of equals), its
        // position, and its substring for each table, into files.
        let permutation = BitPermutation.shuffled(seed: permutationSeed)
        let positionsPath = "\(workDirectory)/near.positions"
        let distinctCount = try countDistinct(hashesFile)
        guard distinctCount >= (requested == nil ? minimumHashes : 1), count < Int(UInt32.max) else { return nil }
        let representativeCount = distinctCount
        // At least 11 tables, so that no substring exceeds 24 bits.
        let tables = max(requested ?? tableCount(forHashes: representativeCount), (256 + maximumTableBits - 1) / maximumTableBits)
        let widths = (0..<tables).map { 256 / tables + ($0 < 256 % tables ? 1 : 0) }
        var starts: [Int] = []
        var running = 0
        for width in widths {
            starts.append(running)
            running += width
        }
        do {
            var valueFiles: [BufferedFileWriter] = []
            for table in 0..<tables {
                valueFiles.append(try BufferedFileWriter(path: "\(workDirectory)/near-\(table).values"))
            }
            let positions = try BufferedFileWriter(path: positionsPath)
            var previous: Bytes32?
            var position: UInt32 = 0
            try forEachHash(in: hashesFile) { pointer in
                let hash = Bytes32(loadingFrom: pointer)
                defer {
                    previous = hash
                    position += 1
                }
                guard hash != previous else { return }
                try positions.writeLittleEndian(position)
                let permuted = permutation.apply(bytesAt: pointer)
                for table in 0..<tables {
                    try valueFiles[table].writeLittleEndian(UInt32(permuted.bits(from: starts[table], count: widths[table])))
                }
            }
            try positions.close()
            for file in valueFiles { try file.close() }
        }

        // Each table, sorted by substring on its own (the tables are independent, so the
        // processor's cores share them).
        let recordsStart = NearIndex.headerSize + NearIndex.permutationSize
        var offset = align64(recordsStart + tables * NearIndex.tableRecordSize)
        var header = LittleEndianBytes()
        header.u32(NearIndex.version)
        header.u32(UInt32(tables))
        header.int(representativeCount)
        header.padTo(NearIndex.headerSize)
        header.raw(permutation.destinations)
        var pieces: [SectionContent.Piece] = []
        var records = LittleEndianBytes()
        for table in 0..<tables {
            let directoryLength = ((1 << widths[table]) + 1) * 4
            let rowsOffset = align64(offset + directoryLength)
            records.u32(UInt32(widths[table]))
            records.u32(0)
            records.int(offset)
            records.int(rowsOffset)
            records.int(0)
            offset = align64(rowsOffset + representativeCount * 4)
            pieces += [.alignTo64, .file("\(workDirectory)/near-\(table).directory"), .alignTo64, .file("\(workDirectory)/near-\(table).rows")]
        }
        let failures = FailureCollector()
        DispatchQueue.concurrentPerform(iterations: tables) { table in
            do {
                try sortTable(table, bits: widths[table], count: representativeCount, positionsPath: positionsPath, workDirectory: workDirectory)
            } catch {
                failures.record(error)
            }
        }
        if let failure = failures.first { throw failure }
        return SectionContent(kind: .nearIndex, count: representativeCount, pieces: [.bytes(header.bytes + records.bytes)] + pieces)
    }

    /// One table: the distinct hashes' positions grouped by substring value (ascending
    /// positions within a value), and the directory of where each value's group starts.
    ///
    /// A counting sort straight into 2^bits counters would touch memory at random for every
    /// hash; instead the (value, position) pairs are first split by the value's top 8 bits into
    /// 256 files (256 streams, cache-friendly), then each part, small enough for the cache, is
    /// counting-sorted on the remaining bits. Memory: one part at a time.
    private static func sortTable(_ table: Int, bits: Int, count: Int, positionsPath: String, workDirectory: String) throws {
        let valuesPath = "\(workDirectory)/near-\(table).values"
        let partBits = min(8, bits)
        let lowBits = bits - partBits
        let partPath = { (part: Int) in "\(workDirectory)/near-\(table).part-\(part)" }
        var parts: [WordWriter] = []
        for part in 0..<(1 << partBits) {
            parts.append(try WordWriter(path: partPath(part), bufferWords: 8192))
        }
        let positions = try WordReader(path: positionsPath)
        try WordReader(path: valuesPath).forEachChunk { values in
            let positionChunk = try positions.next(values.count)
            for (value, position) in zip(values, positionChunk) {
                parts[Int(value) >> lowBits].append(value, position)
            }
            for part in parts { try part.flushIfFull() }
        }
        for part in parts { try part.close() }
        try? FileManager.default.removeItem(atPath: valuesPath)

        let directory = try WordWriter(path: "\(workDirectory)/near-\(table).directory", bufferWords: 1 << 18)
        let rows = try WordWriter(path: "\(workDirectory)/near-\(table).rows", bufferWords: 1 << 18)
        var written = 0
        let lowMask = UInt32((1 << lowBits) - 1)
        var counts = [UInt32](repeating: 0, count: (1 << lowBits) + 1)
        var pairs: [UInt32] = []
        var sorted: [UInt32] = []
        for part in 0..<(1 << partBits) {
            pairs.removeAll(keepingCapacity: true)
            try WordReader(path: partPath(part)).forEachChunk { pairs.append(contentsOf: $0) }
            try? FileManager.default.removeItem(atPath: partPath(part))
            let pairCount = pairs.count / 2
            for index in counts.indices { counts[index] = 0 }
            for pair in 0..<pairCount { counts[Int(pairs[2 * pair] & lowMask) + 1] += 1 }
            for index in 1..<counts.count { counts[index] += counts[index - 1] }
            for index in 0..<(counts.count - 1) {
                directory.append(UInt32(written) + counts[index])
                try directory.flushIfFull()
            }
            if sorted.count < pairCount { sorted = [UInt32](repeating: 0, count: pairCount) }
            for pair in 0..<pairCount {
                let value = Int(pairs[2 * pair] & lowMask)
                sorted[Int(counts[value])] = pairs[2 * pair + 1]
                counts[value] += 1
            }
            for index in 0..<pairCount {
                rows.append(sorted[index])
                try rows.flushIfFull()
            }
            written += pairCount
        }
        directory.append(UInt32(written))
        guard written == count else { throw InputError(file: valuesPath, reason: "table \(table) holds \(written) hashes, not \(count)") }
        try directory.close()
        try rows.close()
    }

    private static func align64(_ offset: Int) -> Int { (offset + 63) / 64 * 64 }

    private static func countDistinct(_ hashesFile: String) throws -> Int {
        var previous: Bytes32?
        var distinct = 0
        try forEachHash(in: hashesFile) { pointer in
            let hash = Bytes32(loadingFrom: pointer)
            if hash != previous { distinct += 1 }
            previous = hash
        }
        return distinct
    }

    /// Calls `body` with a pointer to each 32-byte hash of the file, read in large chunks.
    private static func forEachHash(in path: String, _ body: (UnsafeRawPointer) throws -> Void) throws {
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

/// Little-endian 32-bit words to a file, gathered in an array and written in bulk.
private final class WordWriter {
    private let file: BufferedFileWriter
    private var words: [UInt32] = []
    private let bufferWords: Int

    init(path: String, bufferWords: Int) throws {
        file = try BufferedFileWriter(path: path, bufferSize: bufferWords * 4)
        self.bufferWords = bufferWords
        words.reserveCapacity(bufferWords + 2)
    }

    @inline(__always) func append(_ word: UInt32) { words.append(word.littleEndian) }
    @inline(__always) func append(_ first: UInt32, _ second: UInt32) {
        words.append(first.littleEndian)
        words.append(second.littleEndian)
    }

    func flushIfFull() throws {
        if words.count >= bufferWords { try flush() }
    }

    func flush() throws {
        try words.withUnsafeBytes { try file.write($0) }
        words.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try file.close()
    }
}

/// Little-endian 32-bit words from a file, a chunk at a time.
private final class WordReader {
    private let file: BufferedFileReader
    private var chunk: [UInt32] = []

    init(path: String) throws {
        file = try BufferedFileReader(path: path, bufferSize: 1 << 20)
    }

    func forEachChunk(_ body: ([UInt32]) throws -> Void) throws {
        var carry: [UInt8] = []  // a word cut by a chunk boundary
        while let bytes = try file.readAvailable(maximum: 1 << 20) {
            let joined = carry + Array(bytes)
            let whole = joined.count / 4 * 4
            try joined.withUnsafeBytes { try body(Self.words(UnsafeRawBufferPointer(rebasing: $0[0..<whole]))) }
            carry = Array(joined[whole...])
        }
        guard carry.isEmpty else { throw InputError(file: file.path, reason: "ends inside a word") }
    }

    /// The next `count` words (fewer at the end of the file).
    func next(_ count: Int) throws -> [UInt32] {
        guard let bytes = try file.read(count * 4) else { return [] }
        return Self.words(bytes)
    }

    private static func words(_ bytes: UnsafeRawBufferPointer) -> [UInt32] {
        (0..<(bytes.count / 4)).map { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
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
