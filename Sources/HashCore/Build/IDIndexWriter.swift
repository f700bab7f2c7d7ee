import Foundation

extension IDKey {
    /// A writer for section 5, reserved in `output` for `count` records.
    static func indexWriter(count: Int, in output: DatabaseOutput) -> BufferedFileWriter {
        output.writer(at: output.reserve(.idIndex, count: count, length: count * DatabaseFormat.idIndexRecordSize), bufferSize: 4 << 20)
    }

    /// Section 5 from the sorted id hashes, through a writer from `indexWriter`.
    static func writeIndex(from sorter: ExternalSorter<IDKey>, to index: BufferedFileWriter) throws {
        try sorter.forEachSorted { key, _ in
            try index.writeLittleEndian(key.hash)
            try index.writeLittleEndian(key.entry)
            try index.writeLittleEndian(UInt32(0))
        }
        try index.close()
    }
}
