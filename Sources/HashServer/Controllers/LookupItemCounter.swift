/// Counts the objects in a lookup document's `hashes` array as its bytes arrive, so that a
/// body with more items than the limit is refused while it is read rather than after all of it
/// was read and decoded. Counts every object opened directly inside an array that is a member
/// of the top-level object: for a valid lookup document that is exactly its items, and for
/// anything else it can only over-count, which refuses sooner, never later.
struct LookupItemCounter {
    private(set) var items = 0
    /// How many objects and arrays are open; only the kinds of the outer two matter.
    private var depth = 0
    private var outerIsObject = false
    private var secondIsArray = false
    private var inString = false
    private var escaped = false

    mutating func feed(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isArray = byte == UInt8(ascii: "[")
                if depth == 0 { outerIsObject = !isArray }
                if depth == 1 { secondIsArray = isArray }
                if depth == 2, !isArray, outerIsObject, secondIsArray { items += 1 }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                // A stray closer is left for the JSON decoder to name.
                depth = max(0, depth - 1)
            default:
                break
            }
        }
    }
}
