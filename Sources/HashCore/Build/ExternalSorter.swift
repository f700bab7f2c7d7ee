import Foundation

/// A fixed-size sort key: records are ordered by it (ties keep no particular order, so keys
/// that must sort deterministically include a tie-breaker, such as a row number).
public protocol ExternalSortKey: BitwiseCopyable, Comparable {
    /// The key's first 64 bits of order: a < b whenever a.sortPrefix < b.sortPrefix. Sorting
    /// is a radix sort on this, then a comparison sort among equal prefixes.
    var sortPrefix: UInt64 { get }
}

/// Sorts more records than fit in memory: records gather in a buffer of bounded size, each full
/// buffer is sorted and written to a run file, and reading merges the runs. Memory stays at
/// the buffer size however many records there are.
///
/// A record is a key and an optional payload of bytes (`payload` may be empty).
final class ExternalSorter<Key: ExternalSortKey> {
    private let directory: String
    private let name: String
    private let memoryBudget: Int
    private var keys: [Record] = []
    private var arena: [UInt8] = []
    /// The radix sort's second buffer, kept between runs (allocating it anew each time costs
    /// page faults on hundreds of megabytes).
    private var scratch: [Record] = []

    /// A key and where its payload lies in `arena`.
    struct Record {
        var key: Key
        var offset: UInt32
        var length: UInt32
    }
    private var runs: [String] = []
    private(set) var count = 0

    /// Memory the buffer will need, the radix sort's scratch copy included.
    private var bufferedBytes: Int { 2 * keys.count * MemoryLayout<Record>.stride + arena.count }

    /// Run files go to `directory` as `name-N.run`; the caller removes the directory.
    init(directory: String, name: String, memoryBudget: Int) {
        self.directory = directory
        self.name = name
        self.memoryBudget = max(1 << 16, memoryBudget)
    }

    func add(_ key: Key, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) throws(FileIOError) {
        keys.append(Record(key: key, offset: UInt32(arena.count), length: UInt32(payload.count)))
        if payload.count > 0 {
            arena.append(contentsOf: payload)
        }
        count += 1
        // Payload offsets are 32-bit: a buffer never holds 4 GiB of payload.
        if bufferedBytes >= memoryBudget || arena.count > Int(UInt32.max / 2) {
            try spill()
        }
    }

    private func sortBuffer() {
        RadixSort.sort(&keys, scratch: &scratch, prefix: { $0.key.sortPrefix }, less: { $0.key < $1.key })
    }

    private func spill() throws(FileIOError) {
        guard !keys.isEmpty else { return }
        sortBuffer()
        let path = "\(directory)/\(name)-\(runs.count).run"
        let writer = try BufferedFileWriter(path: path, writeBehind: true)
        for record in keys {
            let (key, offset, length) = (record.key, Int(record.offset), Int(record.length))
            try writer.write(value: key)
            try writer.write(value: UInt32(length))
            if length > 0 {
                let result = arena.withUnsafeBytes { bytes in
                    Result { () throws(FileIOError) in try writer.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])) }
                }
                try result.get()
            }
        }
        try writer.close()
        runs.append(path)
        keys.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
    }

    private var prepared = false

    /// Ends the input: sorts what is buffered (spilling it when there are runs already) and
    /// gives back the sort's scratch memory, so that the caller can allocate before reading.
    func finishInput() throws {
        guard !prepared else { return }
        prepared = true
        if runs.isEmpty {
            sortBuffer()
        } else {
            try spill()
            keys = []
            arena = []
        }
        scratch = []
    }

    /// Calls `body` with every record in key order. Consumes the sorter.
    func forEachSorted(_ body: (Key, UnsafeRawBufferPointer) throws -> Void) throws {
        try finishInput()
        if runs.isEmpty {
            try arena.withUnsafeBytes { bytes in
                for record in keys {
                    let (offset, length) = (Int(record.offset), Int(record.length))
                    try body(record.key, UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
                }
            }
            keys = []
            arena = []
            return
        }
        try merge(body)
    }

    /// A k-way merge of the runs (`MergeOrder`), by key.
    private func merge(_ body: (Key, UnsafeRawBufferPointer) throws -> Void) throws {
        let readerBuffer = max(64 << 10, min(4 << 20, memoryBudget / max(1, runs.count)))
        var readers: [RunReader] = []
        for path in runs {
            readers.append(try RunReader(path: path, bufferSize: readerBuffer))
        }
        var heads: [Key?] = []
        for reader in readers { heads.append(try reader.advance() ? reader.key : nil) }
        var order = MergeOrder(heads: heads)
        while let top = order.first {
            try body(readers[top].key!, readers[top].payload)
            order.advanceFirst(to: try readers[top].advance() ? readers[top].key : nil)
        }
        for path in runs {
            try? FileManager.default.removeItem(atPath: path)
        }
        runs = []
    }

    private final class RunReader {
        let reader: BufferedFileReader
        var key: Key?
        var payload = UnsafeRawBufferPointer(start: nil, count: 0)
        /// The reader's buffer moves on the next read: the head record's payload is copied here.
        private var payloadStorage = ScratchBuffer<UInt8>()

        init(path: String, bufferSize: Int) throws(FileIOError) {
            reader = try BufferedFileReader(path: path, bufferSize: bufferSize)
        }

        /// Moves to the next record; false at the end of the run.
        func advance() throws(FileIOError) -> Bool {
            guard let head = try reader.read(MemoryLayout<Key>.size + 4) else {
                key = nil
                return false
            }
            key = head.loadUnaligned(as: Key.self)
            let length = Int(head.loadUnaligned(fromByteOffset: MemoryLayout<Key>.size, as: UInt32.self))
            if length > 0 {
                guard let bytes = try reader.read(length) else {
                    throw FileIOError(path: reader.path, operation: "read", problem: "the run ends mid-record")
                }
                let storage = payloadStorage.reserve(length)
                UnsafeMutableRawPointer(storage).copyMemory(from: bytes.baseAddress!, byteCount: length)
                payload = UnsafeRawBufferPointer(start: storage, count: length)
            } else {
                payload = UnsafeRawBufferPointer(start: nil, count: 0)
            }
            return true
        }
    }
}
