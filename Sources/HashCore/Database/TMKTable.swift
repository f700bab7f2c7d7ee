/// Section 35 (format 1.4): the entries that carry a TMK+PDQF, with their features laid out for
/// an exact scan of the level-1 vectors and level-2 scores read in place.
///
/// A 64-byte header (`u64` count n, `u64` directory offset, `u64` pure-average offset, `u64`
/// features offset, 32 reserved); a directory of 16-byte records in ascending entry order (`u32`
/// entry, `i32` frame count, `f32` the pure average's L2 norm as TMK computes it, 4 zero bytes);
/// n pure averages of 256 floats; n feature blocks of 2 × 32,768 floats (the cosine features,
/// then the sine features, as the `.tmk` file orders them). Floats little-endian IEEE 754.
struct TMKTable: Sendable {
    let count: Int
    let directory: RawView
    let pureAverages: RawView
    let features: RawView

    static let headerSize = 64
    static let directoryRecordSize = 16
    static let pureBytes = TMK.featureDimension * 4
    static let featureBytes = 2 * TMKFeatures.vectorCount * 4

    static let empty = TMKTable()

    private init() {
        count = 0
        directory = .empty
        pureAverages = .empty
        features = .empty
    }

    init(_ section: RawView, expectedCount: Int, entryCount: Int) throws(SectionError) {
        guard section.count >= Self.headerSize else { throw SectionError("shorter than its header") }
        guard let count = section.int(0), count == expectedCount else { throw SectionError("TMK count disagrees with the table") }
        guard count <= entryCount else { throw SectionError("\(count) TMKs among \(entryCount) entries") }
        guard let directoryOffset = section.int(8), let pureOffset = section.int(16), let featuresOffset = section.int(24),
            let directoryLength = checkedProduct(count, Self.directoryRecordSize),
            let directory = section.slice(offset: directoryOffset, length: directoryLength),
            let pureLength = checkedProduct(count, Self.pureBytes), let pure = section.slice(offset: pureOffset, length: pureLength),
            let featuresLength = checkedProduct(count, Self.featureBytes),
            let features = section.slice(offset: featuresOffset, length: featuresLength),
            pureOffset % 64 == 0, featuresOffset % 64 == 0
        else { throw SectionError("directory, pure averages or features run past the section (or are not aligned)") }
        self.count = count
        self.directory = directory
        pureAverages = pure
        self.features = features
    }

    func entry(_ index: Int) -> Int { Int(directory.u32(index * Self.directoryRecordSize)) }
    func frameCount(_ index: Int) -> Int32 { Int32(bitPattern: directory.u32(index * Self.directoryRecordSize + 4)) }
    func pureNorm(_ index: Int) -> Float { Float(bitPattern: directory.u32(index * Self.directoryRecordSize + 8)) }

    /// The pure average of TMK `index` in place (aligned: the section and its arrays start at
    /// multiples of 64; little-endian floats, as hashdb's platforms store them).
    func pureAverage(_ index: Int) -> UnsafePointer<Float> {
        pureAverages.address(index * Self.pureBytes).assumingMemoryBound(to: Float.self)
    }

    func cosines(_ index: Int) -> UnsafePointer<Float> {
        features.address(index * Self.featureBytes).assumingMemoryBound(to: Float.self)
    }

    func sines(_ index: Int) -> UnsafePointer<Float> {
        features.address(index * Self.featureBytes + Self.featureBytes / 2).assumingMemoryBound(to: Float.self)
    }

    /// The directory position of `entry`'s TMK, or nil.
    func position(ofEntry entry: Int) -> Int? {
        EntryDirectory.position(of: entry, count: count, entryAt: self.entry)
    }

    /// TMK `index` copied out.
    func features(at index: Int) -> TMKFeatures {
        TMKFeatures(frameCount: frameCount(index),
                    pureAverage: Array(UnsafeBufferPointer(start: pureAverage(index), count: TMK.featureDimension)),
                    cosines: Array(UnsafeBufferPointer(start: cosines(index), count: TMKFeatures.vectorCount)),
                    sines: Array(UnsafeBufferPointer(start: sines(index), count: TMKFeatures.vectorCount)))
    }

    /// The section's content from the parts `EntryWriter` wrote.
    static func section(count: Int, directoryPath: String, purePath: String, featuresPath: String) -> SectionContent {
        var header = LittleEndianBytes()
        header.int(count)
        header.int(headerSize)
        let pureOffset = DatabaseFormat.align(headerSize + count * directoryRecordSize)
        header.int(pureOffset)
        header.int(DatabaseFormat.align(pureOffset + count * pureBytes))
        header.padTo(headerSize)
        return SectionContent(kind: .tmk, count: count, pieces: [.bytes(header.bytes), .file(directoryPath), .alignTo64, .file(purePath), .alignTo64,
                                                                .file(featuresPath)])
    }
}
