/// Bounds on what a decoder will take on, checked from the header before any pixel buffer
/// is allocated, so that a small file declaring a huge image costs nothing.
public struct DecodeLimits: Sendable, Equatable {
    /// Width × height. 100 MP holds any camera photo; a bomb declaring more is refused.
    public var maxPixels: Int
    /// Width or height on its own.
    public var maxDimension: Int
    /// Size of the file to decode, in bytes. Larger files still get their digests.
    public var maxFileBytes: Int
    /// Scans in a progressive JPEG; each may walk the whole image (CPU bombs).
    public var maxJPEGScans: Int
    /// One ancillary PNG chunk after decompression (ICC profiles, text, EXIF).
    public var maxMetadataBytes: Int

    public init(
        maxPixels: Int = 100_000_000,
        maxDimension: Int = 65_535,
        maxFileBytes: Int = 256 << 20,
        maxJPEGScans: Int = 256,
        maxMetadataBytes: Int = 8 << 20
    ) {
        self.maxPixels = maxPixels
        self.maxDimension = maxDimension
        self.maxFileBytes = maxFileBytes
        self.maxJPEGScans = maxJPEGScans
        self.maxMetadataBytes = maxMetadataBytes
    }

    public static let `default` = DecodeLimits()

    /// Throws when an image of this size may not be decoded.
    func check(width: Int, height: Int) throws(ImageDecodeError) {
        guard width > 0, height > 0 else {
            throw .invalidDimensions(width: width, height: height)
        }
        guard let pixels = checkedProduct(width, height), pixels <= maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: maxPixels)
        }
        guard width <= maxDimension, height <= maxDimension else {
            throw .dimensionTooLarge(width: width, height: height, limit: maxDimension)
        }
    }
}
