import CShims

/// The near-match index (section 33, docs/FORMAT.md): multi-index hashing over the PDQ table.
///
/// The 256 bits of a hash are permuted (a fixed permutation stored in the section, so that each
/// substring mixes DCT coefficients from all over the 16×16 grid) and cut into m substrings.
/// Each substring has a table: every distinct stored hash, listed under its substring's value.
/// If two hashes are within r of each other, write r = m·s + a (0 ≤ a < m): then one of the
/// first a + 1 substrings differs by at most s, or one of the others by at most s − 1 (else
/// the distance would be at least r + 1). A query probes every bucket within that radius in
/// each table, and checks the hashes it finds: exact, with no false results.
public struct NearIndex: Sendable {
    let tableCount: Int
    let hashCount: Int
    let permutation: BitPermutation
    let tables: [Table]

    /// One substring's table: `directory[v] ..< directory[v + 1]` are the positions in `rows`
    /// of the stored hashes whose substring is v; `rows` holds PDQ table positions.
    struct Table: Sendable {
        let bits: Int
        let start: Int  // first bit of the substring in the permuted hash
        let directory: RawView
        let rows: RawView
    }

    static let version: UInt32 = 1
    static let headerSize = 64
    static let permutationSize = 256
    static let tableRecordSize = 32
    static let maximumTableBits = 28
    /// The index answers radii up to this; larger ones are a scan.
    public static let maximumRadius = 31

    /// Directories up to this many bytes in all are checked whole at open (a 1 M-hash index
    /// has about 50 MB of them; a 10 M one 350 MB, which `verify` checks instead). Whatever
    /// they hold, a search never reads outside the table or takes more candidates than it
    /// has rows (see `search`).
    static let directoryBytesCheckedAtOpen = 64 << 20

    init(_ section: RawView, pdqCount: Int) throws(SectionError) {
        guard section.count >= Self.headerSize + Self.permutationSize else { throw SectionError("shorter than its header") }
        guard section.u32(0) == Self.version else { throw SectionError("index version \(section.u32(0))") }
        let tableCount = Int(section.u32(4))
        guard (1...64).contains(tableCount) else { throw SectionError("\(tableCount) tables") }
        guard let hashCount = section.int(8), hashCount <= pdqCount else { throw SectionError("indexes more hashes than the PDQ table holds") }
        var destinations = [UInt8](repeating: 0, count: 256)
        for bit in 0..<256 {
            destinations[bit] = section.u8(Self.headerSize + bit)
        }
        guard let permutation = BitPermutation(destinations: destinations) else { throw SectionError("bit permutation is not a permutation") }
        let recordsStart = Self.headerSize + Self.permutationSize
        guard let records = section.slice(offset: recordsStart, length: tableCount * Self.tableRecordSize) else {
            throw SectionError("table records run past the section")
        }
        var directoryBytes = 0
        for index in 0..<tableCount {
            let bits = Int(records.u32(index * Self.tableRecordSize))
            directoryBytes += (1 << min(bits, Self.maximumTableBits)) * 4
        }
        let checkDirectories = directoryBytes <= Self.directoryBytesCheckedAtOpen
        var tables: [Table] = []
        var nextStart = 0
        for index in 0..<tableCount {
            let offset = index * Self.tableRecordSize
            let bits = Int(records.u32(offset))
            guard (1...Self.maximumTableBits).contains(bits), nextStart + bits <= 256 else { throw SectionError("table \(index) has \(bits) bits") }
            guard let directoryOffset = records.int(offset + 8), let rowsOffset = records.int(offset + 16),
                let directory = section.slice(offset: directoryOffset, length: ((1 << bits) + 1) * 4),
                let rowsLength = checkedProduct(hashCount, 4), let rows = section.slice(offset: rowsOffset, length: rowsLength)
            else { throw SectionError("table \(index) runs past the section") }
            guard directory.u32(0) == 0, Int(directory.u32((1 << bits) * 4)) == hashCount else {
                throw SectionError("table \(index) directory does not cover every hash")
            }
            if checkDirectories, let value = Self.firstDescent(in: directory, entries: (1 << bits) + 1) {
                throw SectionError("table \(index) directory decreases at bucket \(value)")
            }
            tables.append(Table(bits: bits, start: nextStart, directory: directory, rows: rows))
            nextStart += bits
        }
        guard nextStart == 256 else { throw SectionError("tables cover \(nextStart) bits, not 256") }
        self.tableCount = tableCount
        self.hashCount = hashCount
        self.permutation = permutation
        self.tables = tables
    }

    /// The first bucket whose start lies after its end (a damaged directory), if any.
    static func firstDescent(in directory: RawView, entries: Int) -> Int? {
        var previous = directory.u32(0)
        for entry in 1..<entries {
            let value = directory.u32(entry * 4)
            if value < previous { return entry - 1 }
            previous = value
        }
        return nil
    }

    /// The search radius of each table for query radius `radius` (negative: skip the table).
    func tableRadii(for radius: Int) -> [Int] {
        let share = radius / tableCount
        let extra = radius % tableCount
        return (0..<tableCount).map { $0 <= extra ? share : share - 1 }
    }
}

/// A fixed permutation of the 256 bits of a hash, applied a byte at a time with lookup tables
/// (32 lookups of 32 bytes, instead of 256 single-bit moves).
struct BitPermutation: Sendable {
    /// `destinations[k]` is where bit k of a hash goes (bit numbering as `PDQHash.bit`).
    let destinations: [UInt8]
    /// For byte position b (0 = the hash's first byte) and byte value v: v's bits, moved.
    private let tables: [Bytes32]

    init?(destinations: [UInt8]) {
        guard destinations.count == 256, Set(destinations).count == 256 else { return nil }
        self.destinations = destinations
        var tables = [Bytes32](repeating: .zero, count: 32 * 256)
        for bytePosition in 0..<32 {
            for value in 0..<256 {
                var moved = PDQHash.zero
                for bitInByte in 0..<8 where value & (1 << bitInByte) != 0 {
                    // Byte 0 holds bits 255...248: bit k lives in byte 31 − k/8.
                    let source = (31 - bytePosition) * 8 + bitInByte
                    moved.setBit(Int(destinations[source]))
                }
                tables[bytePosition * 256 + value] = moved.bits
            }
        }
        self.tables = tables
    }

    /// A deterministic shuffle, so that each substring takes bits from all over the hash.
    static func shuffled(seed: UInt64) -> BitPermutation {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var order = (0..<256).map { UInt8($0) }
        for index in stride(from: 255, to: 0, by: -1) {
            order.swapAt(index, Int(next() % UInt64(index + 1)))
        }
        return BitPermutation(destinations: order)!
    }

    func apply(_ hash: PDQHash) -> Bytes32 {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { hash.bits.store(to: $0.baseAddress!) }
        return withUnsafeBytes(of: &bytes) { apply(bytesAt: $0.baseAddress!) }
    }

    /// The permutation of the 32 bytes at `pointer` (a hash as stored: most significant first).
    @inline(__always)
    func apply(bytesAt pointer: UnsafeRawPointer) -> Bytes32 {
        tables.withUnsafeBufferPointer { table in
            var result = Bytes32.zero
            for bytePosition in 0..<32 {
                let moved = table[bytePosition &* 256 &+ Int(pointer.load(fromByteOffset: bytePosition, as: UInt8.self))]
                result.w0 |= moved.w0
                result.w1 |= moved.w1
                result.w2 |= moved.w2
                result.w3 |= moved.w3
            }
            return result
        }
    }
}

extension Bytes32 {
    /// Bits `start ..< start + count` of the 256-bit number (bit 0 the least significant), as
    /// an integer.
    @inline(__always)
    func bits(from start: Int, count: Int) -> Int {
        // Word w3 holds bits 0...63, w0 bits 192...255.
        func word(_ index: Int) -> UInt64 {
            switch index {
            case 0: w3
            case 1: w2
            case 2: w1
            default: w0
            }
        }
        let low = start >> 6
        let shift = UInt64(start & 63)
        var value = word(low) >> shift
        if shift + UInt64(count) > 64 && low < 3 {
            value |= word(low + 1) << (64 - shift)
        }
        return Int(value & ((1 << UInt64(count)) - 1))
    }
}

extension NearIndex {
    /// A stored hash within the radius of some variant of the query.
    struct Hit {
        /// Position in the PDQ table of the first row with this hash.
        var position: Int
        var distance: Int
        var variant: Int
    }

    /// Every distinct stored hash within `radius` (≤ `maximumRadius`) of one of `variants`,
    /// with its smallest distance and the variant that reached it.
    ///
    /// The work is done in passes that each run a simple loop of independent memory reads —
    /// bucket numbers, then directory entries, then stored rows, then hashes — so that the
    /// processor keeps many cache misses in flight instead of waiting for each in turn.
    /// Working arrays of a search, kept from one query to the next by callers that make many
    /// (growing them anew for every query costs page faults). One per thread.
    public final class Scratch {
        var buckets: [UnsafeRawPointer] = []
        var owners: [(table: Int32, variant: Int32)] = []
        var ranges: [(start: UInt32, end: UInt32)] = []
        var rangeOwners: [(table: Int32, variant: Int32)] = []
        var candidates: [UInt32] = []
        var candidateVariants: [Int32] = []
        var hits: [Hit] = []

        public init() {}
    }

    ///
    /// Returns nil when the buckets to probe hold more rows than the table has hashes: the
    /// index would save nothing over a scan there, and a damaged directory (one that `verify`
    /// reports) could otherwise make the candidate lists as large as probes × hashes. The
    /// caller scans instead, which gives the same answer.
    func search(_ variants: [PDQHash], radius: Int, table pdq: PDQTable, scratch: Scratch = Scratch()) -> [Hit]? {
        precondition(radius >= 0 && radius <= Self.maximumRadius, "radius out of the index's range")
        let radii = tableRadii(for: radius)
        // The scratch arrays are moved out and back, so that the loops work on locals.
        var buckets = scratch.buckets, owners = scratch.owners, ranges = scratch.ranges, rangeOwners = scratch.rangeOwners
        var candidates = scratch.candidates, candidateVariants = scratch.candidateVariants, hits = scratch.hits
        scratch.buckets = []
        scratch.owners = []
        scratch.ranges = []
        scratch.rangeOwners = []
        scratch.candidates = []
        scratch.candidateVariants = []
        scratch.hits = []
        defer {
            scratch.buckets = buckets
            scratch.owners = owners
            scratch.ranges = ranges
            scratch.rangeOwners = rangeOwners
            scratch.candidates = candidates
            scratch.candidateVariants = candidateVariants
            scratch.hits = hits
        }

        // Pass 1: the buckets to probe, as the address of their directory entry and
        // (table, variant).
        buckets.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        for (variantIndex, variant) in variants.enumerated() {
            let permuted = permutation.apply(variant)
            for (tableIndex, table) in tables.enumerated() where radii[tableIndex] >= 0 {
                let value = permuted.bits(from: table.start, count: table.bits)
                let directory = table.directory
                let owner: (table: Int32, variant: Int32) = (Int32(tableIndex), Int32(variantIndex))
                let before = buckets.count
                Self.forEachValue(within: radii[tableIndex], of: value, bits: table.bits) { buckets.append(directory.address($0 * 4)) }
                owners.append(contentsOf: repeatElement(owner, count: buckets.count - before))
            }
        }
        let probeCount = buckets.count
        // Pass 2: bucket ranges, each directory entry asked for well before it is read (so that
        // tens of cache misses are in flight), kept without a branch per bucket; the rows of
        // each range are asked for too, for pass 3. A damaged directory gives empty ranges,
        // never reads outside the table.
        if ranges.count < probeCount {
            ranges = Array(repeating: (0, 0), count: probeCount)
            rangeOwners = Array(repeating: (0, 0), count: probeCount)
        }
        var rangeCount = 0
        var candidateCount = 0
        let limit = UInt32(hashCount)
        let ahead = 64
        for index in 0..<min(ahead, probeCount) { hdb_prefetch(buckets[index]) }
        for index in 0..<probeCount {
            if index + ahead < probeCount { hdb_prefetch(buckets[index + ahead]) }
            let start = UInt32(littleEndian: buckets[index].loadUnaligned(as: UInt32.self))
            let end = UInt32(littleEndian: buckets[index].loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            ranges[rangeCount] = (start, end)
            rangeOwners[rangeCount] = owners[index]
            let keep = start < end && end <= limit
            if keep {
                hdb_prefetch(tables[Int(owners[index].table)].rows.address(Int(start) * 4))
            }
            rangeCount += keep ? 1 : 0
            candidateCount += keep ? Int(end &- start) : 0
        }
        guard candidateCount <= hashCount else { return nil }
        // Pass 3: the stored rows in those buckets.
        if candidates.count < candidateCount {
            candidates = Array(repeating: 0, count: candidateCount)
            candidateVariants = Array(repeating: 0, count: candidateCount)
        }
        var next = 0
        for index in 0..<rangeCount {
            let rows = tables[Int(rangeOwners[index].table)].rows
            let variant = rangeOwners[index].variant
            for position in Int(ranges[index].start)..<Int(ranges[index].end) {
                candidates[next] = rows.u32(position * 4)
                candidateVariants[next] = variant
                next += 1
            }
        }
        // Pass 4: distances (hashes asked for ahead too), then the closest variant of each.
        hits.removeAll(keepingCapacity: true)
        let count = UInt32(pdq.count)
        for index in 0..<min(16, candidateCount) where candidates[index] < count {
            hdb_prefetch(pdq.hashes.address(Int(candidates[index]) * 32))
        }
        for index in 0..<candidateCount where candidates[index] < count {
            if index + 16 < candidateCount, candidates[index + 16] < count {
                hdb_prefetch(pdq.hashes.address(Int(candidates[index + 16]) * 32))
            }
            let row = Int(candidates[index])
            let variant = Int(candidateVariants[index])
            let distance = pdq.hash(row).distance(to: variants[variant])
            if distance <= radius {
                hits.append(Hit(position: row, distance: distance, variant: variant))
            }
        }
        hits.sort { ($0.position, $0.distance, $0.variant) < ($1.position, $1.distance, $1.variant) }
        var unique: [Hit] = []
        for hit in hits where unique.last?.position != hit.position {
            unique.append(hit)
        }
        return unique
    }

    /// How many values lie within Hamming distance `radius` of one (`bits` wide).
    static func valueCount(within radius: Int, bits: Int) -> Int {
        var total = 0
        var choose = 1  // bits choose k
        for k in 0...max(0, radius) where radius >= 0 {
            total += choose
            choose = choose * (bits - k) / (k + 1)
        }
        return total
    }

    /// Calls `body` with every value within Hamming distance `radius` of `value` (`bits` wide).
    @inline(__always)
    static func forEachValue(within radius: Int, of value: Int, bits: Int, _ body: (Int) -> Void) {
        body(value)
        guard radius >= 1 else { return }
        for first in 0..<bits {
            let once = value ^ (1 << first)
            body(once)
            if radius >= 2 {
                for second in (first + 1)..<bits {
                    body(once ^ (1 << second))
                }
            }
        }
        if radius >= 3 {
            addProbesBeyondTwo(value: value, bits: bits, radius: radius, add: body)
        }
    }

    /// Values within `radius` (≥ 3) of `value` but more than 2 bits from it.
    static func addProbesBeyondTwo(value: Int, bits: Int, radius: Int, add: (Int) -> Void) {
        func flip(from lowest: Int, remaining: Int, current: Int) {
            if remaining == 0 {
                add(current)
                return
            }
            guard lowest < bits else { return }
            for bit in lowest..<bits {
                flip(from: bit + 1, remaining: remaining - 1, current: current ^ (1 << bit))
            }
        }
        for flips in 3...radius {
            flip(from: 0, remaining: flips, current: value)
        }
    }
}
