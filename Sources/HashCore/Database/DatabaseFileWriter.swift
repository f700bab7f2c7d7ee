import Foundation

/// The content of one section, as pieces laid end to end.
struct SectionContent {
    enum Piece {
        case bytes([UInt8])
        /// A whole temporary file.
        case file(String)
        /// Zeros up to the next multiple of 64 bytes from the section's start.
        case alignTo64
    }

    let kind: SectionKind
    let count: Int
    let pieces: [Piece]

    /// The section's length, with its alignment padding.
    func length() throws(FileIOError) -> Int {
        var length = 0
        for piece in pieces {
            switch piece {
            case .bytes(let bytes): length += bytes.count
            case .file(let path): length += try Self.fileSize(path)
            case .alignTo64: length = (length + 63) / 64 * 64
            }
        }
        return length
    }

    static func fileSize(_ path: String) throws(FileIOError) -> Int {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw FileIOError(path: path, operation: "stat", errno: .noSuchFileOrDirectory)
        }
    }
}

/// Little-endian encoding into a byte array (headers and tables).
struct LittleEndianBytes {
    private(set) var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func int(_ value: Int) { u64(UInt64(value)) }
    mutating func i64(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func raw(_ values: [UInt8]) { bytes += values }
    mutating func zeros(_ count: Int) { bytes += repeatElement(0, count: count) }
    mutating func padTo(_ size: Int) { zeros(max(0, size - bytes.count)) }
}

/// Writes a database file from its sections: header, section table, sections, checksum, all
/// into a temporary file that is fsynced and renamed over the destination.
enum DatabaseFileWriter {
    static func write(sections: [SectionContent], entryCount: Int, createdAt: Int64?, to destination: String) throws -> Bytes32 {
        let ordered = sections.sorted { $0.kind.rawValue < $1.kind.rawValue }
        let tableOffset = DatabaseFormat.headerSize
        // The file ends where the last section does (no padding after it).
        var fileSize = tableOffset + ordered.count * DatabaseFormat.sectionRecordSize
        var table = LittleEndianBytes()
        for section in ordered {
            let offset = align(fileSize)
            let length = try section.length()
            table.u32(section.kind.rawValue)
            table.u32(section.kind.isRequired ? SectionRecord.requiredFlag : 0)
            table.int(offset)
            table.int(length)
            table.int(section.count)
            fileSize = offset + length
        }

        var header = LittleEndianBytes()
        header.raw(DatabaseFormat.magic)
        header.u16(DatabaseFormat.majorVersion)
        header.u16(DatabaseFormat.minorVersion)
        header.u32(UInt32(DatabaseFormat.headerSize))
        header.int(fileSize)
        header.int(tableOffset)
        header.u32(UInt32(ordered.count))
        header.u32(0)
        header.i64(createdAt ?? 0)
        header.int(entryCount)
        header.padTo(DatabaseFormat.headerSize)  // checksum (zero while hashing) and reserved

        let temporary = AtomicFile.temporaryPath(for: destination)
        let writer = try BufferedFileWriter(path: temporary, bufferSize: 4 << 20)
        var committed = false
        defer {
            if !committed {
                try? writer.close()
                try? FileManager.default.removeItem(atPath: temporary)
            }
        }
        let checksum = BackgroundSHA256()
        func emit(_ bytes: [UInt8]) throws {
            checksum.update(bytes)
            try writer.write(bytes)
        }
        func padToAlignment() throws {
            let remainder = writer.size % DatabaseFormat.sectionAlignment
            if remainder != 0 {
                try emit([UInt8](repeating: 0, count: DatabaseFormat.sectionAlignment - remainder))
            }
        }
        try emit(header.bytes)
        try emit(table.bytes)
        for section in ordered {
            try padToAlignment()
            let start = writer.size
            for piece in section.pieces {
                switch piece {
                case .bytes(let bytes):
                    try emit(bytes)
                case .alignTo64:
                    let used = writer.size - start
                    let padding = (used + 63) / 64 * 64 - used
                    if padding > 0 { try emit([UInt8](repeating: 0, count: padding)) }
                case .file(let path):
                    let reader = try BufferedFileReader(path: path, bufferSize: 4 << 20)
                    while let chunk = try reader.readAvailable(maximum: 4 << 20) {
                        checksum.update(Array(chunk))
                        try writer.write(chunk)
                    }
                }
            }
        }
        precondition(writer.size == fileSize, "database layout and written bytes disagree")
        let digest = checksum.finish()
        try writer.overwrite(at: DatabaseFormat.checksumOffset, with: digest.bytes())
        try writer.sync()
        try writer.close()
        try AtomicFile.commit(temporary, to: destination)
        committed = true
        return digest
    }

    static func align(_ offset: Int) -> Int {
        (offset + DatabaseFormat.sectionAlignment - 1) / DatabaseFormat.sectionAlignment * DatabaseFormat.sectionAlignment
    }
}

/// SHA-256 computed on a thread of its own, so that hashing a large file overlaps writing it.
/// Chunks are hashed in the order given. Every stored property is used only with `condition`
/// locked (the stream only by the hashing thread), which makes the @unchecked sound.
final class BackgroundSHA256: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var finished = false
    private var digest: Bytes32?
    private static let maximumQueued = 8

    init() {
        let thread = Thread { [self] in
            let stream = SHA256Stream()
            while true {
                condition.lock()
                while chunks.isEmpty && !finished {
                    condition.wait()
                }
                if chunks.isEmpty {
                    digest = stream.finish()
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let chunk = chunks.removeFirst()
                condition.broadcast()
                condition.unlock()
                chunk.withUnsafeBytes { stream.update($0) }
            }
        }
        thread.start()
    }

    func update(_ chunk: [UInt8]) {
        condition.lock()
        while chunks.count >= Self.maximumQueued {
            condition.wait()
        }
        chunks.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for every chunk to be hashed.
    func finish() -> Bytes32 {
        condition.lock()
        finished = true
        condition.broadcast()
        while digest == nil {
            condition.wait()
        }
        let result = digest!
        condition.unlock()
        return result
    }
}
