#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a CSV (RFC 4180: double quotes, "" inside quotes, line breaks inside quotes) or TSV
/// (no quoting; \t, \n, \r and \\ escapes) file into records of fields, or any text file
/// into lines, reading it in large chunks. Fields are handed out as byte slices of an internal
/// buffer, valid until the next record.
final class DelimitedReader {
    enum Dialect { case csv, tsv, lines }

    /// A record longer than this is refused (in CSV, an unbalanced quote would otherwise make
    /// the rest of the file one record).
    static let maximumRecordBytes = 4 << 20

    let path: String
    private let dialect: Dialect
    private let delimiter: UInt8
    private let reader: BufferedFileReader
    private let pending = ByteBuffer()  // bytes read but not yet consumed; grows to the reads
    private var pendingStart = 0
    private var finished = false
    private let unescaped = ByteBuffer()  // fields of the current record that needed decoding
    /// The line the current record starts on (1-based).
    private(set) var line = 0
    private var nextLine = 1

    init(path: String, dialect: Dialect, digest: SHA256Stream? = nil) throws(InputError) {
        self.path = path
        self.dialect = dialect
        delimiter = dialect == .csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")  // unused for lines
        do {
            reader = try BufferedFileReader(path: path, bufferSize: 4 << 20)
        } catch {
            throw InputError(file: path, reason: error.description)
        }
        reader.digest = digest
    }

    /// A record's fields; `field(i)` is valid until the next call to `next`.
    struct Record {
        fileprivate let fields: [(base: UnsafeRawPointer?, count: Int)]
        var count: Int { fields.count }
        func field(_ index: Int) -> UnsafeRawBufferPointer {
            guard index < fields.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            return UnsafeRawBufferPointer(start: fields[index].base, count: fields[index].count)
        }
        func string(_ index: Int) -> String { String(decoding: field(index), as: UTF8.self) }
        /// The field as text, or nil when its bytes are not valid UTF-8 (where `string` would
        /// put U+FFFD in their place, and two different values could come out the same).
        func validatedString(_ index: Int) -> String? { String(validating: field(index), as: UTF8.self) }
    }

    /// The next record, or nil at the end of the file. Empty lines are skipped; a record over
    /// `maximumRecordBytes` throws (use `next(reportingOversized:)` to go on after it).
    func next() throws(InputError) -> Record? {
        switch try nextRecordOrOversized() {
        case .record(let record): return record
        case .oversized(let line): throw InputError(file: path, reason: "line \(line): " + Self.oversizedReason(dialect: dialect))
        case .end: return nil
        }
    }

    /// The next record; a record over `maximumRecordBytes` is skipped up to the first line
    /// break past the limit (without holding it in memory) and handed to `reject` as a row
    /// error with its line, so that one bad record costs one row, not the file.
    func next(reportingOversized reject: (Result<ListRow, RowError>) throws -> Void) throws -> Record? {
        while true {
            switch try nextRecordOrOversized() {
            case .record(let record): return record
            case .oversized(let line): try reject(.failure(RowError(file: path, line: line, reason: Self.oversizedReason(dialect: dialect))))
            case .end: return nil
            }
        }
    }

    private enum Outcome {
        case record(Record)
        case oversized(line: Int)
        case end
    }

    private func nextRecordOrOversized() throws(InputError) -> Outcome {
        while true {
            guard let found = try findRecordEnd() else { return .end }
            line = nextLine
            nextLine += found.lines
            if found.oversized { return .oversized(line: line) }
            if found.end == found.start { continue }  // an empty line
            return .record(split(found.start, found.end))
        }
    }

    private static func oversizedReason(dialect: Dialect) -> String {
        "a record longer than \(maximumRecordBytes) bytes, skipped to the next line break" + (dialect == .csv ? " (an unbalanced quote?)" : "")
    }

    /// Finds the next record in `pending`, reading more as needed: (start, end excluding the
    /// line break, line breaks consumed).
    private func findRecordEnd() throws(InputError) -> (start: Int, end: Int, lines: Int, oversized: Bool)? {
        var scanFrom = pendingStart
        var inQuotes = false
        var lines = 0
        // Set once the record has outgrown the limit: from then on only line breaks count
        // (quotes no longer), and what is scanned is let go.
        var oversized = false
        while true {
            let bytes = pending.storage.assumingMemoryBound(to: UInt8.self)
            let count = pending.count
            var index = scanFrom
            while index < count {
                // The next line break (memchr is vectorised); quotes before it change its meaning.
                guard let found = memchr(bytes + index, 10, count - index) else {
                    if dialect == .csv { inQuotes = Self.quotesToggle(bytes + index, count - index, inQuotes) }
                    index = count
                    break
                }
                let newline = bytes.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if dialect == .csv && !oversized { inQuotes = Self.quotesToggle(bytes + index, newline - index, inQuotes) }
                lines += 1
                index = newline + 1
                if oversized {
                    pendingStart = newline + 1
                    return (0, 0, lines, true)
                }
                if !inQuotes {
                    let start = pendingStart
                    var end = newline
                    if end > start && bytes[end - 1] == 13 { end -= 1 }
                    pendingStart = newline + 1
                    return (start, end, lines, end - start > Self.maximumRecordBytes)
                }
            }
            scanFrom = index
            if !oversized && count - pendingStart > Self.maximumRecordBytes {
                // The record ends at the first line break past the limit (quotes no longer
                // count, or an unbalanced one would take the rest of the file): the scan starts
                // again from there, the line breaks before it being the record's own.
                oversized = true
                let limitPoint = pendingStart + Self.maximumRecordBytes
                lines = 0
                var position = pendingStart
                while let found = memchr(bytes + position, 10, limitPoint - position) {
                    lines += 1
                    position = bytes.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
                }
                scanFrom = limitPoint
                continue
            }
            if oversized {
                pendingStart = count  // what was scanned is let go
            }
            if finished {
                guard pendingStart < pending.count || oversized else { return nil }
                if oversized {
                    return (0, 0, max(lines, 1), true)
                }
                let start = pendingStart
                var end = pending.count
                if end > start && pending[end - 1] == 13 { end -= 1 }
                pendingStart = pending.count
                return (start, end, max(lines, 1), end - start > Self.maximumRecordBytes)
            }
            // Keep the unfinished record, read more after it.
            if pendingStart > 0 {
                pending.removeFirst(pendingStart)
                scanFrom -= pendingStart
                pendingStart = 0
            }
            do {
                if let chunk = try reader.readAvailable(maximum: 4 << 20) {
                    pending.append(chunk)
                } else {
                    finished = true
                }
            } catch {
                throw InputError(file: path, reason: error.description)
            }
            // The scan resumes where it stopped, with the quote state it had.
        }
    }

    /// The quote state after `count` bytes that start in state `inQuotes`.
    private static func quotesToggle(_ bytes: UnsafePointer<UInt8>, _ count: Int, _ inQuotes: Bool) -> Bool {
        var state = inQuotes
        var remaining = count
        var position = bytes
        while remaining > 0, let found = memchr(position, 34, remaining) {
            state.toggle()
            let next = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) + 1
            remaining -= position.distance(to: next)
            position = next
        }
        return state
    }

    private func split(_ start: Int, _ end: Int) -> Record {
        if dialect == .lines {
            return Record(fields: [(UnsafeRawPointer(pending.storage + start), end - start)])
        }
        unescaped.removeAll()
        // Decoded fields are never longer than the record: reserving that much up front keeps
        // pointers into `unescaped` valid while the record is split.
        unescaped.reserve(additional: end - start)
        var fields: [(base: UnsafeRawPointer?, count: Int)] = []
        fields.reserveCapacity(16)
        let bytes = pending.storage.assumingMemoryBound(to: UInt8.self)
        // Most records hold no quotes (CSV) or escapes (TSV): then fields are just what lies
        // between delimiters, found with memchr.
        if memchr(bytes + start, dialect == .csv ? 34 : 92, end - start) == nil {
            var fieldStart = start
            while fieldStart <= end, let found = memchr(bytes + fieldStart, Int32(delimiter), end - fieldStart) {
                let fieldEnd = bytes.distance(to: found.assumingMemoryBound(to: UInt8.self))
                fields.append((UnsafeRawPointer(bytes + fieldStart), fieldEnd - fieldStart))
                fieldStart = fieldEnd + 1
            }
            fields.append((UnsafeRawPointer(bytes + fieldStart), end - fieldStart))
            return Record(fields: fields)
        }
        var fieldStart = start
        var index = start
        var inQuotes = false
        var special = false
        func finishField(_ fieldEnd: Int) {
            if special {
                let decodedStart = unescaped.count
                decode(fieldStart..<fieldEnd)
                fields.append((UnsafeRawPointer(unescaped.storage + decodedStart), unescaped.count - decodedStart))
            } else {
                fields.append((UnsafeRawPointer(pending.storage + fieldStart), fieldEnd - fieldStart))
            }
        }
        while index < end {
            let byte = bytes[index]
            if dialect == .csv && byte == 34 {
                inQuotes.toggle()
                special = true
            } else if dialect == .tsv && byte == 92 {
                special = true
                index += 1  // the escaped character
            } else if byte == delimiter && !inQuotes {
                finishField(index)
                fieldStart = index + 1
                special = false
            }
            index += 1
        }
        finishField(min(index, end))
        return Record(fields: fields)
    }

    /// Appends the decoded bytes of `range` of `pending` to `unescaped`.
    private func decode(_ range: Range<Int>) {
        var index = range.lowerBound
        if dialect == .csv {
            var inQuotes = false
            while index < range.upperBound {
                let byte = pending[index]
                if byte == 34 {
                    if inQuotes && index + 1 < range.upperBound && pending[index + 1] == 34 {
                        unescaped.append(34)
                        index += 1
                    } else {
                        inQuotes.toggle()
                    }
                } else {
                    unescaped.append(byte)
                }
                index += 1
            }
        } else {
            while index < range.upperBound {
                let byte = pending[index]
                if byte == 92 && index + 1 < range.upperBound {
                    index += 1
                    switch pending[index] {
                    case UInt8(ascii: "t"): unescaped.append(9)
                    case UInt8(ascii: "n"): unescaped.append(10)
                    case UInt8(ascii: "r"): unescaped.append(13)
                    default: unescaped.append(pending[index])
                    }
                } else {
                    unescaped.append(byte)
                }
                index += 1
            }
        }
    }
}
