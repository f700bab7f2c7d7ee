import CShims
import Foundation

/// Writes one digest index section from keys arriving in sorted order.
final class DigestIndexWriter {
    /// Stage 6: the three digest indexes, from the key stream (keys in order, each with a row)
    /// and each row's entry.
    static func writeAll(keyStreamPath: String, counts: [Int], entryOfRow: EntryNumbering, directory: String) throws -> [SectionContent] {
        // (The sections are made from parts: how many keys survive removals is known only
        // once they are written.)
        var writers: [DigestIndexWriter] = []
        for kind in DigestKind.allCases {
            writers.append(try DigestIndexWriter(kind: kind, count: counts[Int(LinkKey.kindCode(kind))], directory: directory))
        }
        let reader = try BufferedFileReader(path: keyStreamPath, bufferSize: 4 << 20)
        // Keys come in key order, so their rows' entries are read at random: a batch at a time,
        // in a loop of independent loads the processor can overlap.
        var batch: [KeyStreamRecord] = []
        var entries = [UInt32](repeating: 0, count: 4096)
        batch.reserveCapacity(4096)
        var done = false
        while !done {
            batch.removeAll(keepingCapacity: true)
            while batch.count < 4096 {
                guard let record = try KeyStreamRecord.read(from: reader) else {
                    done = true
                    break
                }
                batch.append(record)
            }
            entryOfRow.entries.withUnsafeBufferPointer { entryOf in
                for index in batch.indices {
                    entries[index] = entryOf[Int(batch[index].row)]
                }
            }
            for (index, record) in batch.enumerated() where record.kind < LinkKey.pdqKind && entries[index] != EntryNumbering.removed {
                try writers[Int(record.kind)].add(record.value, entry: entries[index])
            }
        }
        return try writers.map { try $0.finish() }
    }

    let kind: DigestKind
    let count: Int
    let prefixBits: Int
    private var directory: [UInt32]
    private var nextBucket = 0
    private var written = 0
    private let keys: BufferedFileWriter
    private let entries: BufferedFileWriter

    init(kind: DigestKind, count: Int, directory workDirectory: String) throws(FileIOError) {
        self.kind = kind
        self.count = count
        prefixBits = DatabaseFormat.prefixBits(forKeyCount: count)
        directory = [UInt32](repeating: 0, count: (1 << prefixBits) + 1)
        keys = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-keys.part", writeBehind: true)
        entries = try BufferedFileWriter(path: "\(workDirectory)/\(kind.rawValue)-entries.part", writeBehind: true)
    }

    func add(_ key: Bytes32, entry: UInt32) throws(FileIOError) {
        let bucket = prefixBits == 0 ? 0 : Int(key.w0 >> UInt64(64 - prefixBits))
        while nextBucket <= bucket {
            directory[nextBucket] = UInt32(written)
            nextBucket += 1
        }
        try keys.write(key, count: kind.byteCount)
        try entries.writeLittleEndian(entry)
        written += 1
    }

    func finish() throws(FileIOError) -> SectionContent {
        while nextBucket < directory.count {
            directory[nextBucket] = UInt32(written)
            nextBucket += 1
        }
        try keys.close()
        try entries.close()
        var header = LittleEndianBytes()
        let directoryBytes = directory.count * 4
        let keysOffset = (DatabaseFormat.indexHeaderSize + directoryBytes + 63) / 64 * 64
        let entriesOffset = (keysOffset + written * kind.byteCount + 63) / 64 * 64
        header.u32(UInt32(kind.byteCount))
        header.u32(UInt32(prefixBits))
        header.int(written)
        header.int(DatabaseFormat.indexHeaderSize)
        header.int(keysOffset)
        header.int(entriesOffset)
        header.padTo(DatabaseFormat.indexHeaderSize)
        var directoryData = LittleEndianBytes()
        for value in directory { directoryData.u32(value) }
        return SectionContent(kind: SectionKind.index(for: kind), count: written, pieces: [
            .bytes(header.bytes), .bytes(directoryData.bytes), .alignTo64, .file(keys.path), .alignTo64, .file(entries.path),
        ])
    }
}
