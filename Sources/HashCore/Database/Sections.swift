/// Typed, bounds-checked views of the sections of a mapped database. Open checks their sizes
/// and layout once; every accessor still checks the references it follows, so that a file
/// corrupted in ways open does not look for gives `nil` (reported as corruption), never an
/// out-of-bounds read.

/// A section 2 or 4 string pool.
struct StringPool: Sendable {
    let count: Int
    let offsets: RawView
    let data: RawView

    init(_ section: RawView, expectedCount: Int) throws(SectionError) {
        guard section.count >= 16 else { throw SectionError("shorter than its 16-byte header") }
        guard let count = section.int(0), let byteCount = section.int(8) else { throw SectionError("sizes overflow") }
        guard count == expectedCount else { throw SectionError("holds \(count) strings, the table says \(expectedCount)") }
        guard let entries = checkedSum(count, 1), let offsetsLength = checkedProduct(entries, 8), let dataStart = checkedSum(16, offsetsLength),
            let offsets = section.slice(offset: 16, length: offsetsLength),
            let data = section.slice(offset: dataStart, length: byteCount)
        else { throw SectionError("string offsets or data run past the section") }
        guard offsets.u64(0) == 0, offsets.u64(count * 8) == UInt64(byteCount) else {
            throw SectionError("string offsets do not start at 0 and end at the data size")
        }
        self.count = count
        self.offsets = offsets
        self.data = data
    }

    func bytes(_ index: Int) -> UnsafeRawBufferPointer? {
        guard index >= 0 && index < count else { return nil }
        let start = offsets.u64(index * 8)
        let end = offsets.u64(index * 8 + 8)
        guard start <= end, end <= UInt64(data.count) else { return nil }
        return data.bytes(Int(start), Int(end - start))
    }

    func string(_ index: Int) -> String? {
        guard let bytes = bytes(index) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Section 3: label sets, a sequence of 32-bit words.
struct LabelSets: Sendable {
    let words: RawView
    let wordCount: Int

    init(_ section: RawView, expectedCount: Int) throws(SectionError) {
        guard checkedProduct(expectedCount, 4) == section.count else { throw SectionError("\(section.count) bytes for \(expectedCount) words") }
        words = section
        wordCount = expectedCount
    }

    /// Label indexes of the set at word `offset`, or nil when it runs out of the section.
    func set(at offset: Int) -> (categories: [Int], sources: [Int])? {
        guard offset >= 0, offset + 2 <= wordCount else { return nil }
        let categories = Int(words.u32(offset * 4))
        let sources = Int(words.u32(offset * 4 + 4))
        guard categories + sources <= wordCount - offset - 2 else { return nil }
        let first = offset + 2
        return ((0..<categories).map { Int(words.u32((first + $0) * 4)) },
                (0..<sources).map { Int(words.u32((first + categories + $0) * 4)) })
    }
}

/// Section 1: one 24-byte record per entry.
struct EntryTable: Sendable {
    let count: Int
    let records: RawView

    struct Record: Equatable {
        var added: Int64
        var firstID: Int
        var idCount: Int
        var labelSet: Int
        var flags: UInt32

        /// The entry's id was made from its smallest key (no list gave one).
        var hasGeneratedID: Bool { flags & DatabaseFormat.generatedIDFlag != 0 }
        /// The entry is a video (its frames are in section 34).
        var isVideo: Bool { flags & DatabaseFormat.videoFlag != 0 }
        /// The entry carries a TMK+PDQF (section 35).
        var hasTMK: Bool { flags & DatabaseFormat.tmkFlag != 0 }
    }

    init(_ section: RawView, expectedCount: Int) throws(SectionError) {
        guard checkedProduct(expectedCount, DatabaseFormat.entryRecordSize) == section.count else {
            throw SectionError("\(section.count) bytes for \(expectedCount) entries of \(DatabaseFormat.entryRecordSize)")
        }
        guard expectedCount < Int(UInt32.max) else { throw SectionError("\(expectedCount) entries (at most 2^32 − 1)") }
        count = expectedCount
        records = section
    }

    func record(_ index: Int) -> Record? {
        guard index >= 0 && index < count else { return nil }
        let offset = index * DatabaseFormat.entryRecordSize
        return Record(added: records.i64(offset), firstID: Int(records.u32(offset + 8)),
                      idCount: Int(records.u32(offset + 12)), labelSet: Int(records.u32(offset + 16)), flags: records.u32(offset + 20))
    }
}

/// Section 5: (FNV-1a hash of an id, entry) records sorted by hash.
struct IDIndex: Sendable {
    let count: Int
    let records: RawView

    init(_ section: RawView, expectedCount: Int) throws(SectionError) {
        guard checkedProduct(expectedCount, DatabaseFormat.idIndexRecordSize) == section.count else {
            throw SectionError("\(section.count) bytes for \(expectedCount) records")
        }
        count = expectedCount
        records = section
    }

    func hash(_ index: Int) -> UInt64 { records.u64(index * DatabaseFormat.idIndexRecordSize) }
    func entry(_ index: Int) -> Int { Int(records.u32(index * DatabaseFormat.idIndexRecordSize + 8)) }

    /// Entries whose ids hash to `hash` (candidates: the caller compares the ids).
    func candidates(forHash hash: UInt64) -> [Int] {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self.hash(middle) < hash { low = middle + 1 } else { high = middle }
        }
        var result: [Int] = []
        while low < count && self.hash(low) == hash {
            result.append(entry(low))
            low += 1
        }
        return result
    }
}

/// Sections 16–18: sorted digests with a prefix directory.
struct DigestIndex: Sendable {
    let kind: DigestKind
    let count: Int
    let prefixBits: Int
    let directory: RawView
    let keys: RawView
    let entries: RawView

    init(_ section: RawView, kind: DigestKind, expectedCount: Int) throws(SectionError) {
        guard section.count >= DatabaseFormat.indexHeaderSize else { throw SectionError("shorter than its header") }
        let width = Int(section.u32(0))
        let prefixBits = Int(section.u32(4))
        guard width == kind.byteCount else { throw SectionError("key width \(width), expected \(kind.byteCount)") }
        guard prefixBits <= DatabaseFormat.maximumPrefixBits else { throw SectionError("\(prefixBits) prefix bits") }
        guard let count = section.int(8), count == expectedCount else { throw SectionError("key count disagrees with the table") }
        guard let directoryOffset = section.int(16), let keysOffset = section.int(24), let entriesOffset = section.int(32),
            let directory = section.slice(offset: directoryOffset, length: ((1 << prefixBits) + 1) * 4),
            let keysLength = checkedProduct(count, width), let keys = section.slice(offset: keysOffset, length: keysLength),
            let entriesLength = checkedProduct(count, 4), let entries = section.slice(offset: entriesOffset, length: entriesLength),
            count < Int(UInt32.max)
        else { throw SectionError("directory, keys or entries run past the section") }
        guard directory.u32(0) == 0, Int(directory.u32((1 << prefixBits) * 4)) == count else {
            throw SectionError("directory does not start at 0 and end at the key count")
        }
        self.kind = kind
        self.count = count
        self.prefixBits = prefixBits
        self.directory = directory
        self.keys = keys
        self.entries = entries
    }

    /// The key at `index` as the first `kind.byteCount` bytes of a Bytes32.
    @inline(__always)
    func key(_ index: Int) -> Bytes32 {
        let offset = index * kind.byteCount
        let w0 = keys.u64BigEndian(offset)
        let w1 = keys.u64BigEndian(offset + 8)
        switch kind {
        case .md5:
            return Bytes32(w0: w0, w1: w1, w2: 0, w3: 0)
        case .sha1:
            let w2 = UInt64(keys.u32BigEndian(offset + 16)) << 32
            return Bytes32(w0: w0, w1: w1, w2: w2, w3: 0)
        case .sha256:
            let w2 = keys.u64BigEndian(offset + 16)
            let w3 = keys.u64BigEndian(offset + 24)
            return Bytes32(w0: w0, w1: w1, w2: w2, w3: w3)
        }
    }

    func entry(_ index: Int) -> Int { Int(entries.u32(index * 4)) }

    /// The entry holding `digest`, if any: a directory read, then a binary search over the
    /// handful of keys that share its prefix.
    func lookup(_ digest: Bytes32) -> Int? {
        let bucket = prefixBits == 0 ? 0 : Int(digest.w0 >> UInt64(64 - prefixBits))
        var low = Int(directory.u32(bucket * 4))
        var high = Int(directory.u32(bucket * 4 + 4))
        guard low <= high, high <= count else { return nil }
        while low < high {
            let middle = (low + high) / 2
            let key = key(middle)
            if key < digest {
                low = middle + 1
            } else if key == digest {
                return entry(middle)
            } else {
                high = middle
            }
        }
        return nil
    }
}

/// Section 32: PDQ hashes in sorted order, with their entries and qualities.
struct PDQTable: Sendable {
    let count: Int
    let hashes: RawView
    let records: RawView

    init(_ section: RawView, expectedCount: Int) throws(SectionError) {
        guard section.count >= DatabaseFormat.indexHeaderSize else { throw SectionError("shorter than its header") }
        guard let count = section.int(0), count == expectedCount else { throw SectionError("hash count disagrees with the table") }
        guard let hashesOffset = section.int(8), let recordsOffset = section.int(16),
            let hashesLength = checkedProduct(count, 32), let hashes = section.slice(offset: hashesOffset, length: hashesLength),
            let recordsLength = checkedProduct(count, DatabaseFormat.pdqRecordSize),
            let records = section.slice(offset: recordsOffset, length: recordsLength),
            count < Int(UInt32.max)
        else { throw SectionError("hashes or records run past the section") }
        self.count = count
        self.hashes = hashes
        self.records = records
    }

    @inline(__always) func hash(_ index: Int) -> PDQHash { PDQHash(bits: hashes.bytes32(index * 32)) }
    @inline(__always) func entry(_ index: Int) -> Int { Int(records.u32(index * DatabaseFormat.pdqRecordSize)) }
    /// 0...100, or nil when unknown.
    /// The quality byte as stored (255: unknown).
    @inline(__always) func rawQuality(_ index: Int) -> UInt8 { records.u8(index * DatabaseFormat.pdqRecordSize + 4) }

    @inline(__always) func quality(_ index: Int) -> Int? {
        let value = records.u8(index * DatabaseFormat.pdqRecordSize + 4)
        return value == DatabaseFormat.unknownQuality ? nil : Int(value)
    }

    /// Positions of `hash` (equal hashes are adjacent).
    func positions(of hash: PDQHash) -> Range<Int> {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self.hash(middle).bits < hash.bits { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < count && self.hash(end) == hash {
            end += 1
        }
        return low..<end
    }
}

/// A structural problem found in one section; the opener adds the file and section.
struct SectionError: Error {
    let detail: String
    init(_ detail: String) { self.detail = detail }
}
