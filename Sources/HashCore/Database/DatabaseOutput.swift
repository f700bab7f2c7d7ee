import CShims
import Foundation
import SystemPackage
import Synchronization

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

/// The database file being written. Sections go into a temporary file next to the
/// destination as they are made: the large ones are placed (a region reserved at the next
/// free offset, then filled by writers positioned there, on any thread), the others copied in
/// from their parts by the kernel. `commit` writes the header and section table, checksums
/// the whole file, flushes it to disk and renames it over the destination.
///
/// Sections lie in the file in the order they were reserved or copied; the table lists them by
/// kind. The layout is deterministic as long as reservations happen in a deterministic order
/// (callers reserve from one thread at a time, in a fixed order).
///
/// Sendable: the descriptor and paths never change; the layout is behind a mutex; writers at
/// disjoint offsets may work on several threads at once.
final class DatabaseOutput: Sendable {
    let destination: String
    private let temporary: String
    private let descriptor: FileDescriptor
    private struct Layout {
        var nextOffset: Int
        var records: [(kind: SectionKind, offset: Int, length: Int, count: Int)] = []
        var committed = false
    }

    private let layout: Mutex<Layout>

    /// Room for the table of every section kind there is, so sections can be placed before the
    /// table is known.
    private static let tableCapacity = SectionKind.allCases.count

    /// `temporary` is for tests; by default a fresh name beside the destination.
    init(destination: String, temporary: String? = nil) throws(FileIOError) {
        self.destination = destination
        self.temporary = temporary ?? AtomicFile.temporaryPath(for: destination)
        do {
            descriptor = try FileDescriptor.open(FilePath(self.temporary), .readWrite, options: [.create, .exclusiveCreate, .closeOnExec],
                                                 permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw FileIOError(path: self.temporary, operation: "create", error: error)
        }
        layout = Mutex(Layout(nextOffset: DatabaseFormat.align(DatabaseFormat.headerSize + Self.tableCapacity * DatabaseFormat.sectionRecordSize)))
    }

    deinit {
        try? descriptor.close()
        if !layout.withLock({ $0.committed }) {
            try? FileManager.default.removeItem(atPath: temporary)
        }
    }

    /// Reserves `length` bytes for a section at the next free offset; returns the offset.
    func reserve(_ kind: SectionKind, count: Int, length: Int) -> Int {
        layout.withLock { layout in
            precondition(!layout.records.contains { $0.kind == kind }, "section \(kind) placed twice")
            let offset = layout.nextOffset
            layout.records.append((kind, offset, length, count))
            layout.nextOffset = DatabaseFormat.align(offset + length)
            return offset
        }
    }

    /// A writer positioned at `offset` (inside a reserved section); it writes behind when its
    /// buffer is 1 MiB or more (the default: sections are large).
    func writer(at offset: Int, bufferSize: Int = 1 << 20) -> BufferedFileWriter {
        BufferedFileWriter(placedIn: descriptor, path: temporary, at: offset, bufferSize: bufferSize, writeBehind: bufferSize >= 1 << 20)
    }

    /// Copies a section made of parts (bytes, part files copied by the kernel) into the file.
    func place(_ section: SectionContent) throws {
        try reservePlacement(section)()
    }

    /// Reserves a section's place now (sections lie in the order they are reserved, which
    /// keeps the file deterministic) and returns the copy, which may run later, on any thread,
    /// beside other writers: it writes only inside its reservation.
    func reservePlacement(_ section: SectionContent) throws -> @Sendable () throws -> Void {
        let offset = reserve(section.kind, count: section.count, length: try section.length())
        return { try self.copy(section, at: offset) }
    }

    private func copy(_ section: SectionContent, at offset: Int) throws {
        var position = offset
        for piece in section.pieces {
            switch piece {
            case .bytes(let bytes):
                try write(bytes, at: position)
                position += bytes.count
            case .alignTo64:
                position = offset + (position - offset + 63) / 64 * 64
            case .file(let path):
                position += try copy(file: path, to: position)
            }
        }
    }

    private func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {
        do {
            _ = try bytes.withUnsafeBytes { try descriptor.writeAll(toAbsoluteOffset: Int64(offset), $0) }
        } catch {
            throw FileIOError(path: temporary, operation: "write", error: error)
        }
    }

    /// Copies the whole file at `path` to `offset`; returns its length.
    private func copy(file path: String, to offset: Int) throws(FileIOError) -> Int {
        let input: FileDescriptor
        do {
            input = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw FileIOError(path: path, operation: "open", error: error)
        }
        defer { try? input.close() }
        var inputOffset: Int64 = 0
        var outputOffset = Int64(offset)
        while true {
            switch SystemCall.copyFileRange(from: input, at: &inputOffset, to: descriptor, at: &outputOffset, count: 1 << 30) {
            case .success(0): return Int(inputOffset)
            case .success: continue
            case .failure(let code): throw FileIOError(path: temporary, operation: "copy from \(path)", errno: code)
            }
        }
    }

    /// Writes the header and table, checksums the file, makes it durable and renames it over
    /// the destination. Every section writer must have been closed.
    func commit(entryCount: Int, createdAt: Int64?) throws -> Bytes32 {
        let (sections, fileSize) = layout.withLock { layout in
            (layout.records.sorted { $0.kind.rawValue < $1.kind.rawValue },
             layout.records.map { $0.offset + $0.length }.max() ?? layout.nextOffset)
        }
        let tableOffset = DatabaseFormat.headerSize
        var table = LittleEndianBytes()
        for section in sections {
            table.u32(section.kind.rawValue)
            table.u32(section.kind.isRequired ? SectionRecord.requiredFlag : 0)
            table.int(section.offset)
            table.int(section.length)
            table.int(section.count)
        }
        var header = LittleEndianBytes()
        header.raw(DatabaseFormat.magic)
        header.u16(DatabaseFormat.majorVersion)
        header.u16(DatabaseFormat.minorVersion)
        header.u32(UInt32(DatabaseFormat.headerSize))
        header.int(fileSize)
        header.int(tableOffset)
        header.u32(UInt32(sections.count))
        header.u32(0)
        header.i64(createdAt ?? 0)
        header.int(entryCount)
        header.padTo(DatabaseFormat.headerSize)  // checksum (zero while hashing) and reserved
        try write(header.bytes + table.bytes, at: 0)
        do {
            try descriptor.resize(to: Int64(fileSize))
        } catch {
            throw FileIOError(path: temporary, operation: "truncate", error: error)
        }

        // The checksum, over the file as written (its checksum field still zero).
        let stream = SHA256Stream()
        let mapped = try MappedFile(path: temporary)
        let piece = 8 << 20
        for offset in stride(from: 0, to: mapped.count, by: piece) {
            stream.update(UnsafeRawBufferPointer(rebasing: mapped.bytes[offset..<min(mapped.count, offset + piece)]))
            mapped.releasePages(offset: offset, length: piece)
            // The disk writes what is hashed while the rest is hashed: the fsync below waits
            // for less. (Only a hint: a failure here shows up in the fsync.)
            SystemCall.startWriteback(descriptor, offset: offset, length: piece)
        }
        let digest = stream.finish()
        try write(digest.bytes(), at: DatabaseFormat.checksumOffset)
        try SystemCall.sync(descriptor, path: temporary)
        try AtomicFile.commit(temporary, to: destination)
        layout.withLock { $0.committed = true }
        return digest
    }
}
