/// Turns image file bytes into RGB pixels, choosing the decoder from the bytes themselves.
public struct ImageDecoder: Sendable {
    /// How faithfully to decode.
    public enum Scaling: Sendable, Equatable {
        /// Full resolution: PDQ hashes equal the reference's bit for bit.
        case exact
        /// JPEGs are decoded with libjpeg's DCT scaling to the smallest size of at least
        /// 128 pixels a side; much faster, hashes drift by a few bits (docs/BENCHMARKS.md).
        case fast
    }

    public var limits: DecodeLimits
    public var scaling: Scaling

    public init(limits: DecodeLimits = .default, scaling: Scaling = .exact) {
        self.limits = limits
        self.scaling = scaling
    }

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ImageDecodeError) -> DecodedImage {
        guard !bytes.isEmpty else {
            throw .empty
        }
        guard bytes.count <= limits.maxFileBytes else {
            throw .fileTooLarge(bytes: bytes.count, limit: limits.maxFileBytes)
        }
        switch ImageFormat.detect(bytes) {
        case .jpeg: return try JPEGDecoder.decode(bytes, limits: limits, scaling: scaling)
        case .png: return try PNGDecoder.decode(bytes, limits: limits)
        case .webp: return try WebPDecoder.decode(bytes, limits: limits)
        case nil: throw .unsupportedFormat(ImageFormat.describeUnsupported(bytes))
        }
    }

    public func decode(_ bytes: [UInt8]) throws(ImageDecodeError) -> DecodedImage {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ImageDecodeError) in try decode(buffer) }
        }
        return try result.get()
    }
}
