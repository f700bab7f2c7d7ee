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
    private var keys: [(key: Key, offset: Int, length: Int)] = []
    private var arena: [UInt8] = []
    /// The sorted order of `keys`, after `sortBuffer`.
    private var order: [UInt32] = []
    private var runs: [String] = []
    private(set) var count = 0

    private var bufferedBytes: Int { keys.count * MemoryLayout<(Key, Int, Int)>.stride + arena.count }

    /// Run files go to `directory` as `name-N.run`; the caller removes the directory.
    init(directory: String, name: String, memoryBudget: Int) {
        self.directory = directory
        self.name = name
        self.memoryBudget = max(1 << 16, memoryBudget)
    }

    func add(_ key: Key, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) throws(FileIOError) {
        keys.append((key, arena.count, payload.count))
        if payload.count > 0 {
            arena.append(contentsOf: payload)
        }
        count += 1
        if bufferedBytes >= memoryBudget {
            try spill()
        }
    }

    private func sortBuffer() {
        order = keys.withUnsafeBufferPointer { records in
            RadixOrder.sorted(records.count, prefix: { records[$0].key.sortPrefix }, less: { records[$0].key < records[$1].key })
        }
    }

    private func spill() throws(FileIOError) {
        guard !keys.isEmpty else { return }
        sortBuffer()
        let path = "\(directory)/\(name)-\(runs.count).run"
        let writer = try BufferedFileWriter(path: path)
        for position in order {
            let (key, offset, length) = keys[Int(position)]
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
        order.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with every record in key order. Consumes the sorter.
    func forEachSorted(_ body: (Key, UnsafeRawBufferPointer) throws -> Void) throws {
        if runs.isEmpty {
            sortBuffer()
            try arena.withUnsafeBytes { bytes in
                for position in order {
                    let (key, offset, length) = keys[Int(position)]
                    try body(key, UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
                }
            }
            keys = []
            arena = []
            return
        }
        try spill()
        keys = []
        arena = []
        try merge(body)
    }

    /// A k-way merge: a binary heap of the runs' current records, by key.
    private func merge(_ body: (Key, UnsafeRawBufferPointer) throws -> Void) throws {
        let readerBuffer = max(64 << 10, min(4 << 20, memoryBudget / max(1, runs.count)))
        var readers: [RunReader] = []
        for path in runs {
            readers.append(try RunReader(path: path, bufferSize: readerBuffer))
        }
        var heap: [Int] = []  // reader indexes, ordered by their current key
        func less(_ a: Int, _ b: Int) -> Bool {
            let ka = readers[a].key!, kb = readers[b].key!
            return ka < kb || (!(kb < ka) && a < b)
        }
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { return }
                var child = left
                if left + 1 < heap.count && less(heap[left + 1], heap[left]) { child = left + 1 }
                guard less(heap[child], heap[parent]) else { return }
                heap.swapAt(child, parent)
                parent = child
            }
        }
        for index in readers.indices where try readers[index].advance() {
            heap.append(index)
        }
        for start in stride(from: heap.count / 2 - 1, through: 0, by: -1) {
            siftDown(start)
        }
        while let top = heap.first {
            try body(readers[top].key!, readers[top].payload)
            if try readers[top].advance() {
                siftDown(0)
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                siftDown(0)
            }
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
                    throw FileIOError(path: reader.path, operation: "read (run ends mid-record)", errno: .ioError)
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

/// Sorting positions 0..<count: an LSD radix sort on 64-bit prefixes (eight passes of a byte,
/// skipping bytes all prefixes share), then a comparison sort of each run of equal prefixes.
enum RadixOrder {
    @inline(__always)
    static func sorted(_ count: Int, prefix: (Int) -> UInt64, less: (Int, Int) -> Bool) -> [UInt32] {
        var pairs = (0..<count).map { (prefix: prefix($0), position: UInt32($0)) }
        var scratch = pairs
        var counts = [Int](repeating: 0, count: 256)
        for pass in 0..<8 {
            let shift = UInt64(pass * 8)
            for index in counts.indices { counts[index] = 0 }
            for pair in pairs { counts[Int((pair.prefix >> shift) & 0xFF)] += 1 }
            if counts.contains(count) { continue }  // every prefix has the same byte here
            var total = 0
            for index in counts.indices {
                let bucket = counts[index]
                counts[index] = total
                total += bucket
            }
            for pair in pairs {
                let bucket = Int((pair.prefix >> shift) & 0xFF)
                scratch[counts[bucket]] = pair
                counts[bucket] += 1
            }
            swap(&pairs, &scratch)
        }
        var start = 0
        while start < count {
            var end = start + 1
            while end < count && pairs[end].prefix == pairs[start].prefix { end += 1 }
            if end - start > 1 {
                pairs[start..<end].sort { less(Int($0.position), Int($1.position)) }
            }
            start = end
        }
        return pairs.map(\.position)
    }
}
