import SystemPackage

/// Computes fingerprints of files or byte buffers: digests of the bytes, then a decode and a
/// PDQ hash. Keeps its working memory between files; give each thread its own.
public final class Fingerprinter {
    public let decoder: ImageDecoder
    public let dihedral: Bool
    /// Hashes files whose bytes are a video; nil: videos get their digests only.
    public let videoHasher: VPDQHasher?
    private let digester = Digester()
    private let hasher = PDQHasher()
    private var fileBuffer = ScratchBuffer<UInt8>()
    /// Read size once a file is known to be over the decode limit (digests only).
    private static let streamChunk = 1 << 20

    /// Also computes videos' TMK+PDQF, through this ffmpeg program; nil: vPDQ only.
    public let tmkSource: TMKFrameSource?

    public init(decoder: ImageDecoder = ImageDecoder(), dihedral: Bool = false, videoHasher: VPDQHasher? = nil, tmkSource: TMKFrameSource? = nil) {
        self.decoder = decoder
        self.dihedral = dihedral
        self.videoHasher = videoHasher
        self.tmkSource = tmkSource
    }

    /// Fingerprints bytes already in memory (an upload).
    public func fingerprint(bytes: UnsafeRawBufferPointer) -> Fingerprint {
        fingerprint(bytes: bytes, tmkFromMemory: true)
    }

    /// `tmkFromMemory`: false when the bytes are a file's, whose TMK the program reads from the file.
    private func fingerprint(bytes: UnsafeRawBufferPointer, tmkFromMemory: Bool) -> Fingerprint {
        let digests = digester.digests(of: bytes)
        if let videoHasher, let format = VideoFormat.detect(UnsafeRawBufferPointer(rebasing: bytes.prefix(VideoFormat.headLength))) {
            var fingerprint = Fingerprint(byteCount: bytes.count, digests: digests, image: .failure(.unsupportedFormat("a \(format.rawValue) video")),
                                          video: Result { () throws(VideoDecodeError) in try videoHasher.hash(bytes: bytes, format: format, dihedral: dihedral) })
            // Only for a video the vPDQ pass took on: its limits (duration, pixels, time) are
            // checked there first, and the ffmpeg program must not get what they refused.
            if let tmkSource, tmkFromMemory, case .success? = fingerprint.video {
                fingerprint.tmk = Result { () throws(VideoDecodeError) in try TMK.hash(bytes: bytes, format: format, source: tmkSource) }
            }
            return fingerprint
        }
        return Fingerprint(byteCount: bytes.count, digests: digests, image: fingerprintImage(bytes))
    }

    public func fingerprint(bytes: [UInt8]) -> Fingerprint {
        bytes.withUnsafeBytes { fingerprint(bytes: $0) }
    }

    /// Reads the file once: digests of all its bytes, and, when it is small enough to decode,
    /// its image fingerprint from the same bytes.
    public func fingerprint(path: String) throws(FileReadError) -> Fingerprint {
        let (descriptor, expected) = try Self.openRegularFile(path)
        defer { try? descriptor.close() }
        var fingerprint: Fingerprint
        do {
            defer { fileBuffer.releaseIfLarge() }
            fingerprint = try readAndFingerprint(descriptor, expectedSize: expected)
        } catch {
            throw .readFailed(path: path, reason: Self.describe(error))
        }
        // A video over the image decoder's size limit was not read whole: FFmpeg reads the file.
        if fingerprint.video == nil, let videoFormat = firstBytesVideoFormat, let videoHasher {
            fingerprint.video = Result { () throws(VideoDecodeError) in try videoHasher.hash(path: path, format: videoFormat, dihedral: dihedral) }
        }
        if case .success? = fingerprint.video, let videoFormat = firstBytesVideoFormat, let tmkSource {
            fingerprint.tmk = Result { () throws(VideoDecodeError) in try TMK.hash(path: path, format: videoFormat, source: tmkSource) }
        }
        return fingerprint
    }

    /// Opens `path` for reading if it is a regular file, with its size. Opened non-blocking
    /// and checked on the descriptor: a FIFO or a device in a scanned folder (or a link to
    /// one) is refused at once instead of blocking the open or being read forever.
    static func openRegularFile(_ path: String) throws(FileReadError) -> (FileDescriptor, size: Int) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FileName.filePath(path), .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch {
            throw .cannotOpen(path: path, reason: Self.describe(error))
        }
        do {
            let status = try descriptor.stat()
            guard status.type == .regular else {
                try? descriptor.close()
                throw FileReadError.notARegularFile(path: path)
            }
            return (descriptor, Int(clamping: status.size))
        } catch let error as FileReadError {
            throw error
        } catch {
            try? descriptor.close()
            throw .readFailed(path: path, reason: Self.describe(error))
        }
    }

    /// The bytes of a regular file of at most `limit` bytes (nil when it is larger).
    public static func contents(ofPath path: String, limit: Int) throws(FileReadError) -> [UInt8]? {
        let (descriptor, size) = try openRegularFile(path)
        defer { try? descriptor.close() }
        guard size <= limit else { return nil }
        do {
            // One byte more than the limit, so that a file that grew since stat is noticed.
            var bytes = [UInt8](repeating: 0, count: min(size, limit) + 1)
            var filled = 0
            while filled < bytes.count {
                let read = try bytes.withUnsafeMutableBytes { try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
                if read == 0 { break }
                filled += read
            }
            guard filled <= limit else { return nil }
            bytes.removeLast(bytes.count - filled)
            return bytes
        } catch {
            throw .readFailed(path: path, reason: Self.describe(error))
        }
    }

    /// The container the last file read starts with, when it is a video.
    private var firstBytesVideoFormat: VideoFormat?

    private func readAndFingerprint(_ descriptor: FileDescriptor, expectedSize: Int) throws -> Fingerprint {
        firstBytesVideoFormat = nil
        let limit = decoder.limits.maxFileBytes
        // One byte more than expected, so that a file that grew since stat is noticed.
        var capacity = min(expectedSize, limit) + 1
        var buffer = fileBuffer.reserve(capacity)
        var filled = 0
        while true {
            if filled == capacity {
                guard capacity <= limit else {
                    return try streamDigests(descriptor, alreadyRead: UnsafeRawBufferPointer(start: buffer, count: filled))
                }
                capacity = min(capacity * 2, limit + 1)
                buffer = fileBuffer.grow(to: capacity, keeping: filled)
            }
            let read = try descriptor.read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: capacity - filled))
            if read == 0 {
                break
            }
            if filled < VideoFormat.headLength {
                firstBytesVideoFormat = VideoFormat.detect(UnsafeRawBufferPointer(start: buffer, count: min(filled + read, VideoFormat.headLength)))
            }
            filled += read
        }
        return fingerprint(bytes: UnsafeRawBufferPointer(start: buffer, count: filled), tmkFromMemory: false)
    }

    /// Over the decode limit: the digests are still worth having, so read on without keeping.
    private func streamDigests(_ descriptor: FileDescriptor, alreadyRead: UnsafeRawBufferPointer) throws -> Fingerprint {
        digester.reset()
        digester.update(alreadyRead)
        var total = alreadyRead.count
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.streamChunk, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let read = try descriptor.read(into: chunk)
            if read == 0 {
                break
            }
            digester.update(UnsafeRawBufferPointer(rebasing: chunk[0..<read]))
            total += read
        }
        let limit = decoder.limits.maxFileBytes
        return Fingerprint(byteCount: total, digests: digester.finish(), image: .failure(.fileTooLarge(bytes: total, limit: limit)))
    }

    private func fingerprintImage(_ bytes: UnsafeRawBufferPointer) -> Result<ImageFingerprint, ImageDecodeError> {
        do {
            let decoded = try decoder.decode(bytes)
            let pdq = hasher.hash(decoded.image, dihedral: dihedral)
            return .success(ImageFingerprint(format: decoded.format, width: decoded.sourceWidth, height: decoded.sourceHeight, pdq: pdq))
        } catch {
            return .failure(error)
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let errno = error as? Errno {
            return errno.description
        }
        return String(describing: error)
    }
}
