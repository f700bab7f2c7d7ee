/// A PDQ hash with its quality, and when asked, the hashes of the eight rotations and flips.
public struct PDQResult: Sendable, Equatable {
    public var hash: PDQHash
    /// 0...100; below `PDQ.qualityThreshold` the hash says little about the image.
    public var quality: Int
    /// Indexed by `DihedralTransform.rawValue` (so `dihedral[0] == hash`); empty unless asked.
    public var dihedral: [PDQHash]

    public var isLowQuality: Bool { quality < PDQ.qualityThreshold }
}

/// Computes PDQ hashes, reusing its working memory from one image to the next. Not for
/// sharing between threads: give each worker its own.
public final class PDQHasher {
    private var buffers = PDQ.DownsampleBuffers()
    private let block = UnsafeMutablePointer<Float>.allocate(capacity: 64 * 64)
    private let dctTemporary = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 64)
    private let dct = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 16)
    private let transformed = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 16)

    public init() {}

    deinit {
        block.deallocate()
        dctTemporary.deallocate()
        dct.deallocate()
        transformed.deallocate()
    }

    /// A video frame's hash as vPDQ computes it (vpdq's frame hasher): luma in single precision
    /// (`PDQ.frameLuma`), the whole frame filtered and decimated (the fused filter, as images;
    /// a frame of exactly 64×64 taken as it is); with `dihedral`, also the 8 rotations and flips
    /// of its DCT (for matching rotated copies; vPDQ itself hashes frames as they are). `rgb`
    /// holds `height` rows of `3 × width` bytes, `rowStride` apart; both sides at least
    /// `PDQ.minimumDimension`.
    public func hashFrame(rgb: UnsafePointer<UInt8>, width: Int, height: Int, rowStride: Int, dihedral: Bool = false) -> PDQResult {
        precondition(width >= PDQ.minimumDimension && height >= PDQ.minimumDimension && rowStride >= 3 * width,
                     "frames are checked before they are hashed")
        if width == PDQ.downsampledSize && height == PDQ.downsampledSize {
            PDQ.frameLuma(rgb: rgb, rows: height, columns: width, rowStride: rowStride, into: block)
        } else {
            defer { buffers.releaseIfLarge() }
            PDQ.downsampleFrame(rgb: rgb, rows: height, columns: width, rowStride: rowStride, buffers: &buffers, into: block)
        }
        let quality = PDQ.quality(of: block)
        PDQ.dct64To16(block, temporary: dctTemporary, into: dct)
        let hash = PDQ.threshold(dct)
        return PDQResult(hash: hash, quality: quality, dihedral: dihedral ? dihedralVariants(of: hash) : [])
    }

    /// The hashes of the 8 rotations and flips of the image whose DCT is in `dct` (`hash` its own).
    private func dihedralVariants(of hash: PDQHash) -> [PDQHash] {
        DihedralTransform.allCases.map { transform in
            if transform == .original {
                return hash
            }
            PDQ.transformDCT(dct, transform, into: transformed)
            return PDQ.threshold(transformed)
        }
    }

    public func hash(_ image: RGBImage, dihedral: Bool = false) -> PDQResult {
        let rows = image.height
        let columns = image.width
        guard rows >= PDQ.minimumDimension, columns >= PDQ.minimumDimension else {
            return PDQResult(hash: .zero, quality: 0, dihedral: dihedral ? Array(repeating: .zero, count: 8) : [])
        }
        defer { buffers.releaseIfLarge() }
        image.pixels.withUnsafeBufferPointer { rgb in
            PDQ.downsample(rgb: rgb.baseAddress!, rows: rows, columns: columns, buffers: &buffers, into: block)
        }
        let quality = PDQ.quality(of: block)
        PDQ.dct64To16(block, temporary: dctTemporary, into: dct)
        let hash = PDQ.threshold(dct)
        return PDQResult(hash: hash, quality: quality, dihedral: dihedral ? dihedralVariants(of: hash) : [])
    }
}
