/// A growable run of bytes in memory the buffer owns, so that pointers into it stay valid
/// until the buffer is next mutated (unlike an Array's, which may not outlive a closure).
///
/// Invariant: `storage` holds `capacity` bytes, the first `count` initialised.
final class ByteBuffer {
    private(set) var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        self.capacity = max(16, capacity)
        storage = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    subscript(index: Int) -> UInt8 {
        storage.load(fromByteOffset: index, as: UInt8.self)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// Room for `additional` more bytes without moving (pointers taken after this call stay
    /// valid across appends that fit).
    func reserve(additional: Int) {
        guard count + additional > capacity else { return }
        var grown = capacity
        while grown < count + additional { grown *= 2 }
        let moved = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        moved.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = moved
        capacity = grown
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(additional: bytes.count)
        (storage + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    func append(_ byte: UInt8) {
        reserve(additional: 1)
        storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "removing more bytes than the buffer holds")
        (storage).copyMemory(from: storage + n, byteCount: count - n)
        count -= n
    }

    func removeAll() {
        count = 0
    }
}
