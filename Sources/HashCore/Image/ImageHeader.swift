import CShims
import CWebP

/// What an image file's header says, read without decoding a pixel: the size, and what a
/// decode of it will allocate. The screening service reserves that much of its pixel-memory
/// budget before it decodes. Reads the header through the same library calls the decoders
/// make, so both agree on what a file declares.
public struct ImageHeader: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Bytes a decode and PDQ hash of this image may hold at its peak: the RGB image (3 a
    /// pixel), PDQ's float luma and box-filter buffers (8), and for progressive JPEGs libjpeg's
    /// whole-image coefficient buffers (2 a pixel for each component).
    public var decodeBytes: Int

    /// The header of `bytes`, or nil when the bytes are no image this decoder reads (the
    /// decode then fails on its own, before any pixel buffer).
    public static func read(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits = .default) -> ImageHeader? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        switch ImageFormat.detect(bytes) {
        case .jpeg:
            guard let decoder = hdb_jpeg_decoder_create(UInt32(clamping: limits.maxJPEGScans), Int.max) else { return nil }
            defer { hdb_jpeg_decoder_destroy(decoder) }
            var header = hdb_jpeg_header()
            guard hdb_jpeg_read_header(decoder, base, bytes.count, &header) == HDB_OK.rawValue else { return nil }
            let coefficientBytes = header.progressive != 0 ? 2 * Int(max(1, header.components)) : 0
            return make(.jpeg, Int(header.width), Int(header.height), bytesPerPixel: 11 + coefficientBytes)
        case .png:
            guard let decoder = hdb_png_decoder_create(base, bytes.count, limits.maxMetadataBytes) else { return nil }
            defer { hdb_png_decoder_destroy(decoder) }
            var header = hdb_png_header()
            guard hdb_png_read_header(decoder, &header) == HDB_OK.rawValue else { return nil }
            // 16-bit grey is read into a sample buffer of its own first.
            let sampleBytes = header.bit_depth == 16 && header.color_type == Int32(HDB_PNG_COLOR_GRAY) ? 2 : 0
            return make(.png, Int(header.width), Int(header.height), bytesPerPixel: 11 + sampleBytes)
        case .webp:
            var features = WebPBitstreamFeatures()
            guard WebPGetFeatures(base, bytes.count, &features) == VP8_STATUS_OK else { return nil }
            // libwebp decodes lossy images through YUV planes (1.5 bytes a pixel).
            return make(.webp, Int(features.width), Int(features.height), bytesPerPixel: 13)
        case nil:
            return nil
        }
    }

    /// True when the limits let an image of this size be decoded at all.
    public func fits(_ limits: DecodeLimits) -> Bool {
        (try? limits.check(width: width, height: height)) != nil
    }

    private static func make(_ format: ImageFormat, _ width: Int, _ height: Int, bytesPerPixel: Int) -> ImageHeader {
        let bytes = checkedProduct(width, height).flatMap { checkedProduct($0, bytesPerPixel) } ?? Int.max
        return ImageHeader(format: format, width: width, height: height, decodeBytes: bytes)
    }
}
