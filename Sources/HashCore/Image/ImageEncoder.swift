import CShims
import CWebP

/// Why an image could not be encoded.
public enum ImageEncodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidInput(String)
    case encoderFailed(ImageFormat, String)

    public var description: String {
        switch self {
        case .invalidInput(let detail): "cannot encode: \(detail)"
        case .encoderFailed(let format, let detail): "\(format.rawValue.uppercased()) encoder failed: \(detail)"
        }
    }
}

/// Encoders for the formats HashCore decodes, through the same libraries: for test fixtures
/// and for the transformed variants the match-quality benchmark makes.
public enum ImageEncoder {
    /// How the samples of a JPEG are stored.
    public enum JPEGColorSpace: Sendable {
        case ycbcr, rgb, grayscale, cmyk, ycck

        var code: hdb_color_space {
            switch self {
            case .ycbcr: HDB_CS_YCBCR
            case .rgb: HDB_CS_RGB
            case .grayscale: HDB_CS_GRAY
            case .cmyk: HDB_CS_CMYK
            case .ycck: HDB_CS_YCCK
            }
        }
    }

    public struct JPEGOptions: Sendable {
        public var quality: Int
        public var progressive: Bool
        public var colorSpace: JPEGColorSpace

        public init(quality: Int = 90, progressive: Bool = false, colorSpace: JPEGColorSpace = .ycbcr) {
            self.quality = quality
            self.progressive = progressive
            self.colorSpace = colorSpace
        }
    }

    /// A JPEG of an RGB image (stored as YCbCr, RGB or greyscale).
    public static func jpeg(_ image: RGBImage, options: JPEGOptions = JPEGOptions()) throws(ImageEncodeError) -> [UInt8] {
        guard options.colorSpace != .cmyk && options.colorSpace != .ycck else {
            throw .invalidInput("CMYK JPEGs are encoded from CMYK samples: use jpeg(samples:...)")
        }
        return try jpeg(samples: image.pixels, width: image.width, height: image.height, components: 3, options: options)
    }

    /// A JPEG from raw samples: 1 component (grey), 3 (RGB) or 4 (CMYK, inverted as Adobe
    /// applications store it).
    public static func jpeg(samples: [UInt8], width: Int, height: Int, components: Int, options: JPEGOptions) throws(ImageEncodeError) -> [UInt8] {
        guard width > 0, height > 0, width <= 65_500, height <= 65_500, samples.count == width * height * components else {
            throw .invalidInput("\(samples.count) samples for a \(width)×\(height) image of \(components) components")
        }
        guard (1...100).contains(options.quality) else {
            throw .invalidInput("JPEG quality \(options.quality) is not in 1...100")
        }
        var settings = hdb_jpeg_encode_options(
            input_components: Int32(components), stored_color_space: Int32(options.colorSpace.code.rawValue),
            quality: Int32(options.quality), progressive: options.progressive ? 1 : 0)
        return try withEncoderOutput(.jpeg) { output, size, message in
            samples.withUnsafeBufferPointer { pixels in
                hdb_jpeg_encode(pixels.baseAddress, UInt32(width), UInt32(height), &settings, output, size, message, 256)
            }
        }
    }

    /// PNG colour types, numbered as in the PNG specification.
    public enum PNGColorType: Int32, Sendable {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgbAlpha = 6

        var channels: Int {
            switch self {
            case .gray, .palette: 1
            case .grayAlpha: 2
            case .rgb: 3
            case .rgbAlpha: 4
            }
        }
    }

    public struct PNGOptions: Sendable {
        public var colorType: PNGColorType
        public var bitDepth: Int
        public var interlaced: Bool
        /// RGB triples, for palette images.
        public var palette: [UInt8]
        /// tRNS: alpha per palette entry.
        public var paletteAlpha: [UInt8]
        /// tRNS for grey (one value) or RGB (three) images.
        public var transparentColor: [UInt16]

        public init(colorType: PNGColorType = .rgb, bitDepth: Int = 8, interlaced: Bool = false,
                    palette: [UInt8] = [], paletteAlpha: [UInt8] = [], transparentColor: [UInt16] = []) {
            self.colorType = colorType
            self.bitDepth = bitDepth
            self.interlaced = interlaced
            self.palette = palette
            self.paletteAlpha = paletteAlpha
            self.transparentColor = transparentColor
        }

        /// Bytes in one row of packed samples, as PNG lays them out.
        public func rowBytes(width: Int) -> Int {
            (width * colorType.channels * bitDepth + 7) / 8
        }
    }

    /// An 8-bit RGB PNG.
    public static func png(_ image: RGBImage, interlaced: Bool = false) throws(ImageEncodeError) -> [UInt8] {
        try png(rows: image.pixels, width: image.width, height: image.height, options: PNGOptions(interlaced: interlaced))
    }

    /// A PNG from packed rows in PNG's own layout (`options.rowBytes(width:)` bytes a row,
    /// 16-bit samples big-endian, sub-byte samples packed from the high bit).
    public static func png(rows: [UInt8], width: Int, height: Int, options: PNGOptions) throws(ImageEncodeError) -> [UInt8] {
        let rowBytes = options.rowBytes(width: width)
        guard width > 0, height > 0, rows.count == rowBytes * height else {
            throw .invalidInput("\(rows.count) bytes for \(height) rows of \(rowBytes) bytes")
        }
        guard options.transparentColor.count <= 3, options.palette.count <= 768, options.palette.count % 3 == 0 else {
            throw .invalidInput("palette or transparent colour has the wrong size")
        }
        let color = options.transparentColor + Array(repeating: 0, count: 3 - options.transparentColor.count)
        return try withEncoderOutput(.png) { output, size, message in
            rows.withUnsafeBufferPointer { bytes in
                options.palette.withUnsafeBufferPointer { palette in
                    options.paletteAlpha.withUnsafeBufferPointer { alpha in
                        let pointers = (0..<height).map { Optional(bytes.baseAddress! + $0 * rowBytes) }
                        var settings = hdb_png_encode_options(
                            bit_depth: Int32(options.bitDepth), color_type: options.colorType.rawValue,
                            interlaced: options.interlaced ? 1 : 0,
                            palette: palette.baseAddress, palette_entries: Int32(options.palette.count / 3),
                            transparency: alpha.baseAddress, transparency_entries: Int32(options.paletteAlpha.count),
                            has_transparent_color: options.transparentColor.isEmpty ? 0 : 1,
                            transparent_color: (color[0], color[1], color[2]))
                        return hdb_png_encode(pointers, UInt32(width), UInt32(height), &settings, output, size, message, 256)
                    }
                }
            }
        }
    }

    /// A WebP of RGB or RGBA samples: lossy at `quality` (0...100), or lossless.
    public static func webp(samples: [UInt8], width: Int, height: Int, hasAlpha: Bool, lossless: Bool, quality: Float = 80) throws(ImageEncodeError) -> [UInt8] {
        let channels = hasAlpha ? 4 : 3
        guard width > 0, height > 0, width <= 16_383, height <= 16_383, samples.count == width * height * channels else {
            throw .invalidInput("\(samples.count) samples for a \(width)×\(height) image of \(channels) channels")
        }
        var output: UnsafeMutablePointer<UInt8>?
        let stride = Int32(width * channels)
        let size = samples.withUnsafeBufferPointer { pixels -> Int in
            switch (hasAlpha, lossless) {
            case (false, false): WebPEncodeRGB(pixels.baseAddress, Int32(width), Int32(height), stride, quality, &output)
            case (false, true): WebPEncodeLosslessRGB(pixels.baseAddress, Int32(width), Int32(height), stride, &output)
            case (true, false): WebPEncodeRGBA(pixels.baseAddress, Int32(width), Int32(height), stride, quality, &output)
            case (true, true): WebPEncodeLosslessRGBA(pixels.baseAddress, Int32(width), Int32(height), stride, &output)
            }
        }
        guard let output, size > 0 else {
            throw .encoderFailed(.webp, "libwebp returned no data")
        }
        defer { WebPFree(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    public static func webp(_ image: RGBImage, lossless: Bool = false, quality: Float = 80) throws(ImageEncodeError) -> [UInt8] {
        try webp(samples: image.pixels, width: image.width, height: image.height, hasAlpha: false, lossless: lossless, quality: quality)
    }

    /// Runs a C encoder that returns a status, a malloc'd buffer and a message.
    private static func withEncoderOutput(
        _ format: ImageFormat,
        _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>) -> Int32
    ) throws(ImageEncodeError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { encode(&output, &size, $0.baseAddress!) }
        defer { hdb_free(output) }
        guard status == HDB_OK.rawValue, let output else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .encoderFailed(format, text.isEmpty ? "status \(status)" : text)
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
