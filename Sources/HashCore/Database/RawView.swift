/// Bytes of a mapped file: typed little-endian reads at offsets the caller has checked.
///
/// Invariant: `base` points at `count` readable bytes that outlive the view (the owning
/// `MappedFile` is kept alive by the `HashDatabase` that holds both), and never change (the
/// file is replaced by rename, never rewritten): sharing the view between threads is sound.
/// Reads of a database's sections go through these methods, at offsets the section views
/// checked when the file was opened; whole-file passes (checksum, warming) read
/// `MappedFile.bytes` directly.
struct RawView: @unchecked Sendable {
    private let base: UnsafeRawPointer
    let count: Int

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// No bytes (a section a file does not have); never read.
    static let empty = RawView(base: UnsafeRawPointer(bitPattern: 64)!, count: 0)

    func contains(offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && length <= count - offset
    }

    /// The sub-view `offset ..< offset + length`, or nil when it is not inside this one.
    func slice(offset: Int, length: Int) -> RawView? {
        guard contains(offset: offset, length: length) else { return nil }
        return RawView(base: base + offset, count: length)
    }

    @inline(__always) func u8(_ offset: Int) -> UInt8 {
        base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always) func u16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) func u64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) func i64(_ offset: Int) -> Int64 {
        Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    /// A u64 that must fit an Int (sizes, counts, offsets); nil when it does not.
    @inline(__always) func int(_ offset: Int) -> Int? {
        let value = u64(offset)
        return value <= UInt64(Int.max) ? Int(value) : nil
    }

    @inline(__always) func u32BigEndian(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) func u64BigEndian(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// 32 bytes as stored (a hash or digest).
    @inline(__always) func bytes32(_ offset: Int) -> Bytes32 {
        Bytes32(loadingFrom: base + offset)
    }

    /// The address of a byte, for prefetching and for the near index's list of buckets to read
    /// (bucket offsets it has checked against the directory's size when it opened).
    @inline(__always) func address(_ offset: Int) -> UnsafeRawPointer {
        base + offset
    }

    func bytes(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offset, count: length)
    }
}
