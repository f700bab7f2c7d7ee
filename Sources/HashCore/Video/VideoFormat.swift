/// Containers told by their first bytes, as images are: a video is never taken for a list or an
/// image by its name. FFmpeg is then allowed only the demuxer that the bytes name. (An animated
/// GIF or WebP is not among them yet: both stay images of an unsupported format.)
public enum VideoFormat: String, Sendable, CaseIterable {
    case mp4, matroska, avi, mpegts, flv

    /// The demuxer FFmpeg may use for this container (its `format_whitelist`).
    var demuxer: String {
        switch self {
        case .mp4: "mov"
        case .matroska: "matroska"
        case .avi: "avi"
        case .mpegts: "mpegts"
        case .flv: "flv"
        }
    }

    /// The container `head` (a file's first `headLength` bytes, fewer for a short file) starts.
    public static let headLength = 512

    public static func detect(_ head: UnsafeRawBufferPointer) -> VideoFormat? {
        func bytes(_ offset: Int, _ text: String) -> Bool {
            let expected = Array(text.utf8)
            guard head.count >= offset + expected.count else { return false }
            return (0..<expected.count).allSatisfy { head[offset + $0] == expected[$0] }
        }
        if bytes(4, "ftyp") || bytes(4, "moov") || bytes(4, "mdat") || bytes(4, "wide") || bytes(4, "free") { return .mp4 }
        if head.count >= 4 && head[0] == 0x1A && head[1] == 0x45 && head[2] == 0xDF && head[3] == 0xA3 { return .matroska }
        if bytes(0, "RIFF") && bytes(8, "AVI ") { return .avi }
        if bytes(0, "FLV") { return .flv }
        // MPEG-TS: the sync byte 0x47 ('G') at the start of three 188-byte packets, so that a text
        // list that happens to begin with a G is never taken for a video.
        if head.count >= 377 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47 { return .mpegts }
        return nil
    }
}
