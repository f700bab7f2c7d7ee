/// 8-bit RGB pixels, row-major, three bytes a pixel, no row padding: the image as the PDQ
/// reference sees it (alpha dropped, palette expanded, CMYK converted).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "pixel count does not match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image whose pixels `fill` writes; `fill` must initialise all width × height × 3 bytes.
    init<E: Error>(
        width: Int, height: Int,
        fill: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> Void
    ) throws(E) {
        let count = width * height * 3
        var failure: E?
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(E) {
                try fill(buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure {
            throw failure
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// An image decoded from a file, with the size the file declares (which differs from the
/// pixels' size when the decoder scaled it down).
public struct DecodedImage: Sendable {
    public var image: RGBImage
    public var format: ImageFormat
    public var sourceWidth: Int
    public var sourceHeight: Int
}
