/// Sections 34 and 35 list their entries in strictly ascending order: an entry's record is found
/// by binary search.
enum EntryDirectory {
    static func position(of entry: Int, count: Int, entryAt: (Int) -> Int) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            let found = entryAt(middle)
            if found < entry { low = middle + 1 } else if found == entry { return middle } else { high = middle }
        }
        return nil
    }
}

/// Section 34 (format 1.3): the videos among the entries, each with its vPDQ frames.
///
/// A 64-byte header (`u64` videos, `u64` frames, `u64` directory offset, `u64` frames offset,
/// 32 reserved), a directory of 32-byte records in ascending entry order (`u32` entry, `u32`
/// frame count, `u64` first frame, `f64` frame rate, `f64` duration; 0 for unknown), and
/// the frames as `StoredVideo` records, each video's consecutive and in ascending frame order.
struct VideoTable: Sendable {
    let count: Int
    let frameCount: Int
    let directory: RawView
    let frames: RawView

    static let headerSize = 64
    static let directoryRecordSize = 32

    /// No videos (a file without section 34).
    static let empty = VideoTable()

    private init() {
        count = 0
        frameCount = 0
        directory = RawView.empty
        frames = RawView.empty
    }

    init(_ section: RawView, expectedCount: Int, entryCount: Int) throws(SectionError) {
        guard section.count >= Self.headerSize else { throw SectionError("shorter than its header") }
        guard let count = section.int(0), count == expectedCount, let frameCount = section.int(8) else {
            throw SectionError("video count disagrees with the table")
        }
        guard count <= entryCount else { throw SectionError("\(count) videos among \(entryCount) entries") }
        guard let directoryOffset = section.int(16), let framesOffset = section.int(24),
            let directoryLength = checkedProduct(count, Self.directoryRecordSize),
            let directory = section.slice(offset: directoryOffset, length: directoryLength),
            let framesLength = checkedProduct(frameCount, StoredVideo.frameRecordSize),
            let frames = section.slice(offset: framesOffset, length: framesLength)
        else { throw SectionError("directory or frames run past the section") }
        self.count = count
        self.frameCount = frameCount
        self.directory = directory
        self.frames = frames
    }

    struct Record: Equatable {
        var entry: Int
        var frameCount: Int
        var firstFrame: Int
        var frameRate: Double?
        var duration: Double?
    }

    func record(_ index: Int) -> Record {
        let offset = index * Self.directoryRecordSize
        let rate = Double(bitPattern: directory.u64(offset + 16))
        let duration = Double(bitPattern: directory.u64(offset + 24))
        return Record(entry: Int(directory.u32(offset)), frameCount: Int(directory.u32(offset + 4)),
                      firstFrame: Int(clamping: directory.u64(offset + 8)),
                      frameRate: rate == 0 ? nil : rate, duration: duration == 0 ? nil : duration)
    }

    /// The directory position of `entry`'s video, or nil.
    func position(ofEntry entry: Int) -> Int? {
        EntryDirectory.position(of: entry, count: count) { Int(directory.u32($0 * Self.directoryRecordSize)) }
    }

    /// The frame records of the video at directory position `index`, or nil when they lie
    /// outside the section.
    func frameRecords(at index: Int) -> UnsafeRawBufferPointer? {
        guard index >= 0 && index < count else { return nil }
        let record = record(index)
        guard record.firstFrame <= frameCount, record.frameCount <= frameCount - record.firstFrame else { return nil }
        return frames.bytes(record.firstFrame * StoredVideo.frameRecordSize, record.frameCount * StoredVideo.frameRecordSize)
    }

    /// The video at directory position `index`, or nil when its frames lie outside the section.
    func video(at index: Int) -> StoredVideo? {
        guard let bytes = frameRecords(at: index) else { return nil }
        let record = record(index)
        guard let decoded = StoredVideo.frames(fromRecords: bytes) else { return nil }
        return StoredVideo(frames: decoded, frameRate: record.frameRate, duration: record.duration)
    }

    /// The section's content, from the directory and frame records written to `directoryPath`
    /// and `framesPath`.
    static func section(videos: Int, frames: Int, directoryPath: String, framesPath: String) -> SectionContent {
        var header = LittleEndianBytes()
        header.int(videos)
        header.int(frames)
        header.int(headerSize)
        header.int(DatabaseFormat.align(headerSize + videos * directoryRecordSize))
        header.padTo(headerSize)
        return SectionContent(kind: .videos, count: videos, pieces: [.bytes(header.bytes), .file(directoryPath), .alignTo64, .file(framesPath)])
    }
}
