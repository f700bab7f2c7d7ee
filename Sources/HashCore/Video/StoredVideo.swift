/// A video as a list row or a database entry holds it: its vPDQ frames, in ascending frame
/// order, and its frame rate and duration when they are known (docs/FORMAT.md, section 34).
public struct StoredVideo: Sendable, Equatable {
    public var frames: [VPDQFrame]
    public var frameRate: Double?
    public var duration: Double?

    public init(frames: [VPDQFrame], frameRate: Double? = nil, duration: Double? = nil) {
        self.frames = frames
        self.frameRate = frameRate
        self.duration = duration
    }

    public init(_ fingerprint: VideoFingerprint) {
        self.init(frames: fingerprint.frames, frameRate: fingerprint.frameRate, duration: fingerprint.durationSeconds)
    }

    /// Most frames one entry holds: a day of video at one frame a second (or 37 minutes of
    /// every frame at 30 a second). A list row with more is refused, not cut.
    public static let maximumFrames = 86_400
    /// Frame numbers are stored in 32 bits.
    public static let maximumFrameNumber = Int(UInt32.max)

    /// Why a video's frames cannot be stored; nil when they can.
    public var problem: String? {
        guard !frames.isEmpty else { return "a video with no frames" }
        guard frames.count <= Self.maximumFrames else { return "\(frames.count) frames (at most \(Self.maximumFrames) a video)" }
        var previous = -1
        for frame in frames {
            guard frame.frame > previous, frame.frame <= Self.maximumFrameNumber else {
                return frame.frame > Self.maximumFrameNumber ? "frame number \(frame.frame) is too large"
                    : "frame \(frame.frame) comes after frame \(previous) (frames must ascend)"
            }
            guard (0...100).contains(frame.quality) else { return "frame \(frame.frame): quality \(frame.quality) is not from 0 to 100" }
            guard frame.timestamp.isFinite, frame.timestamp >= 0 else { return "frame \(frame.frame): timestamp \(frame.timestamp) is not a time" }
            previous = frame.frame
        }
        if let frameRate, !(frameRate.isFinite && frameRate > 0) { return "frame rate \(frameRate) is not a positive number" }
        if let duration, !(duration.isFinite && duration >= 0) { return "duration \(duration) is not a time" }
        return nil
    }

    /// Bytes of one frame record (section 34).
    static let frameRecordSize = 48

    /// One frame as section 34 stores it: the hash (32 bytes, as PDQ hashes are stored), the
    /// frame number (u32), the quality (u8), 3 zero bytes and the timestamp (IEEE 754 double),
    /// little-endian.
    static func appendRecord(of frame: VPDQFrame, to bytes: inout LittleEndianBytes) {
        bytes.raw(frame.hash.bits.bytes())
        bytes.u32(UInt32(frame.frame))
        bytes.raw([UInt8(frame.quality), 0, 0, 0])
        bytes.u64(frame.timestamp.bitPattern)
    }

    /// The frame records, in order: what section 34 holds for this video.
    var frameRecords: [UInt8] {
        var bytes = LittleEndianBytes()
        for frame in frames { Self.appendRecord(of: frame, to: &bytes) }
        return bytes.bytes
    }

    /// What links list rows of this video when none carries a file digest: the SHA-256 of its
    /// frame records. Two lists with the same frames give one entry; its made-up id is
    /// `vpdq:` and this value in hex.
    var linkKey: Bytes32 { frameRecords.withUnsafeBytes { Self.linkKey(frameRecords: $0) } }

    static func linkKey(frameRecords: UnsafeRawBufferPointer) -> Bytes32 {
        let digest = SHA256Stream()
        digest.update(frameRecords)
        return digest.finish()
    }

    /// Reads frame records (as `frameRecords` writes them); nil when the bytes are not whole records.
    static func frames(fromRecords bytes: UnsafeRawBufferPointer) -> [VPDQFrame]? {
        guard bytes.count % frameRecordSize == 0 else { return nil }
        return (0..<(bytes.count / frameRecordSize)).map { index in
            let base = index * frameRecordSize
            return VPDQFrame(frame: Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 32, as: UInt32.self))),
                             quality: Int(bytes[base + 36]),
                             hash: PDQHash(bits: Bytes32(loadingFrom: bytes.baseAddress! + base)),
                             timestamp: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 40, as: UInt64.self))))
        }
    }

    /// Of several frame lists for one entry (lists that disagree about a video with the same
    /// digest), the one kept: the most frames, then the smallest records by bytes. Depends only
    /// on the lists, not their order.
    static func preferred(_ a: StoredVideo, over b: StoredVideo) -> Bool {
        if a.frames.count != b.frames.count { return a.frames.count > b.frames.count }
        let (left, right) = (a.frameRecords, b.frameRecords)
        if left != right { return left.lexicographicallyPrecedes(right) }
        return (a.frameRate ?? 0, a.duration ?? 0) < (b.frameRate ?? 0, b.duration ?? 0)
    }
}
