import Foundation

/// Sorts records in place by an MSD radix sort on a 64-bit order-preserving prefix, a byte at
/// a time from the top (each pass reads the records in order and writes them to 256 buckets,
/// so memory is touched in streams, not at random), finishing small buckets and equal prefixes
/// with comparisons.
enum RadixSort {
    static let smallBucket = 32

    @inline(__always)
    static func sort<Record>(_ records: inout [Record], scratch: inout [Record], prefix: (Record) -> UInt64, less: (Record, Record) -> Bool) {
        guard records.count > 1 else { return }
        if scratch.count < records.count {
            scratch = records
        }
        records.withUnsafeMutableBufferPointer { main in
            scratch.withUnsafeMutableBufferPointer { spare in
                sortRange(main, spare, 0..<main.count, byte: 7, prefix: prefix, less: less)
            }
        }
    }

    /// Sorts `records[range]` by prefix bytes `byte` down to 0, using `scratch[range]`.
    private static func sortRange<Record>(
        _ records: UnsafeMutableBufferPointer<Record>, _ scratch: UnsafeMutableBufferPointer<Record>,
        _ range: Range<Int>, byte: Int, prefix: (Record) -> UInt64, less: (Record, Record) -> Bool
    ) {
        if range.count <= smallBucket || byte < 0 {
            insertionOrStandardSort(UnsafeMutableBufferPointer(rebasing: records[range]), less: less)
            return
        }
        let shift = UInt64(byte * 8)
        var counts = [Int](repeating: 0, count: 257)
        for index in range {
            counts[Int((prefix(records[index]) >> shift) & 0xFF) + 1] += 1
        }
        if counts.contains(range.count) {
            sortRange(records, scratch, range, byte: byte - 1, prefix: prefix, less: less)  // one bucket: next byte
            return
        }
        for bucket in 1...256 {
            counts[bucket] += counts[bucket - 1]
        }
        var next = counts
        for index in range {
            let bucket = Int((prefix(records[index]) >> shift) & 0xFF)
            scratch[range.lowerBound + next[bucket]] = records[index]
            next[bucket] += 1
        }
        (records.baseAddress! + range.lowerBound).update(from: scratch.baseAddress! + range.lowerBound, count: range.count)
        for bucket in 0..<256 where counts[bucket + 1] - counts[bucket] > 1 {
            let bucketRange = (range.lowerBound + counts[bucket])..<(range.lowerBound + counts[bucket + 1])
            sortRange(records, scratch, bucketRange, byte: byte - 1, prefix: prefix, less: less)
        }
    }

    private static func insertionOrStandardSort<Record>(_ buffer: UnsafeMutableBufferPointer<Record>, less: (Record, Record) -> Bool) {
        var records = buffer
        guard records.count > 1 else { return }
        if records.count > smallBucket {
            records.sort(by: less)
            return
        }
        for index in 1..<records.count {
            let value = records[index]
            var position = index
            while position > 0 && less(value, records[position - 1]) {
                records[position] = records[position - 1]
                position -= 1
            }
            records[position] = value
        }
    }
}
