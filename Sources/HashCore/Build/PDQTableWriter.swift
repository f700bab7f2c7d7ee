import CShims
import Foundation

/// Stage 7: the PDQ table (section 32) from rows arriving in (hash, entry) order, and the
/// near-match index over it (section 33).
final class PDQTableWriter {
    private let directory: String
    private let hashes: BufferedFileWriter
    private let records: BufferedFileWriter
    private(set) var count = 0

    init(directory: String) throws(FileIOError) {
        self.directory = directory
        hashes = try BufferedFileWriter(path: directory + "/pdq-hashes.part", writeBehind: true)
        records = try BufferedFileWriter(path: directory + "/pdq-records.part", writeBehind: true)
    }

    func add(hash: Bytes32, entry: UInt32, quality: UInt8) throws(FileIOError) {
        try hashes.write(hash)
        try records.writeLittleEndian(entry)
        try records.write(value: (quality, UInt8(0), UInt16(0)))
        count += 1
    }

    /// The near index's share of a build's or merge's memory budget. The other thread of the
    /// index stage only merges runs (small read buffers): the sort buffers are free by then
    /// (`EntryWriter.finishSections`).
    static func nearIndexMemory(_ budget: Int) -> Int { budget * 3 / 4 }

    /// Places the table, and the index unless `nearIndexTables` is 0 (or there are too few
    /// hashes to need one).
    func finish(into output: DatabaseOutput, nearIndexTables: Int?, memoryBudget: Int) throws {
        try hashes.close()
        try records.close()
        var header = LittleEndianBytes()
        header.int(count)
        header.int(DatabaseFormat.indexHeaderSize)
        header.int(DatabaseFormat.indexHeaderSize + (count * 32 + 63) / 64 * 64)
        header.padTo(DatabaseFormat.indexHeaderSize)
        let copyTable = try output.reservePlacement(SectionContent(kind: .pdqTable, count: count, pieces: [
            .bytes(header.bytes), .file(hashes.path), .alignTo64, .file(records.path),
        ]))
        guard nearIndexTables != 0 else { return try copyTable() }
        // The kernel copies the table while the index is built from the same hashes.
        let hashesPath = hashes.path
        let count = count
        _ = try inParallel(copyTable, {
            try NearIndexBuilder.build(hashesFile: hashesPath, count: count, into: output, tableCount: nearIndexTables, memoryBudget: memoryBudget)
        })
    }
}

/// PDQ quality as the table stores it: 0...100, or 255 for unknown (which any known one beats).
enum PDQQualityByte {
    static func better(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == DatabaseFormat.unknownQuality { return b }
        if b == DatabaseFormat.unknownQuality { return a }
        return max(a, b)
    }
}
