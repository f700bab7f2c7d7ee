/// Working memory that grows to the largest request seen, so that a worker hashing one file
/// after another allocates once, but gives back what only an unusually large file needed.
///
/// Invariant: `pointer` is nil exactly when `capacity` is 0, and owns `capacity` elements.
/// Contents are not kept across `reserve` calls that grow.
struct ScratchBuffer<Element: BitwiseCopyable>: ~Copyable {
    private var pointer: UnsafeMutablePointer<Element>?
    private var capacity = 0
    /// Capacity above this many bytes is released by `releaseIfLarge` (64 MiB: a 16-megapixel
    /// photo's floats).
    static var retainedBytes: Int { 64 << 20 }

    init() {}

    deinit {
        pointer?.deallocate()
    }

    /// Room for at least `count` elements.
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if let pointer, capacity >= count {
            return pointer
        }
        pointer?.deallocate()
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        pointer = grown
        capacity = max(count, 1)
        return grown
    }

    /// Room for at least `count` elements, keeping the first `keeping` elements.
    mutating func grow(to count: Int, keeping: Int) -> UnsafeMutablePointer<Element> {
        if let pointer, capacity >= count {
            return pointer
        }
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        if let pointer {
            grown.initialize(from: pointer, count: min(keeping, capacity))
            pointer.deallocate()
        }
        pointer = grown
        capacity = max(count, 1)
        return grown
    }

    var currentCapacity: Int { capacity }

    mutating func releaseIfLarge() {
        if capacity * MemoryLayout<Element>.stride > Self.retainedBytes {
            pointer?.deallocate()
            pointer = nil
            capacity = 0
        }
    }
}
