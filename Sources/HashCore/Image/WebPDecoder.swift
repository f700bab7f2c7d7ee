import CWebP

/// WebP through libwebp: lossy, lossless and with alpha (dropped). Animated files are refused.
enum WebPDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits) throws(ImageDecodeError) -> DecodedImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .empty
        }
        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfig(&config) != 0 else {
            throw .corrupt(.webp, "libwebp version mismatch")
        }
        try check(WebPGetFeatures(base, bytes.count, &config.input))
        let width = Int(config.input.width)
        let height = Int(config.input.height)
        try limits.check(width: width, height: height)
        guard config.input.has_animation == 0 else {
            throw .unsupportedFeature(.webp, "animated WebP")
        }

        let image = try RGBImage(width: width, height: height) { (pixels) throws(ImageDecodeError) in
            config.output.colorspace = MODE_RGB  // alpha, if any, is dropped, not composited
            config.output.is_external_memory = 1
            config.output.u.RGBA.rgba = pixels.baseAddress
            config.output.u.RGBA.stride = Int32(width * 3)
            config.output.u.RGBA.size = pixels.count
            defer { WebPFreeDecBuffer(&config.output) }
            try check(WebPDecode(base, bytes.count, &config))
        }
        return DecodedImage(image: image, format: .webp, sourceWidth: width, sourceHeight: height)
    }

    private static func check(_ status: VP8StatusCode) throws(ImageDecodeError) {
        switch status {
        case VP8_STATUS_OK: return
        case VP8_STATUS_NOT_ENOUGH_DATA: throw .truncated(.webp, "the file ends before the image does")
        case VP8_STATUS_OUT_OF_MEMORY: throw .outOfMemory(.webp)
        case VP8_STATUS_UNSUPPORTED_FEATURE: throw .unsupportedFeature(.webp, "feature not supported by libwebp")
        case VP8_STATUS_INVALID_PARAM: throw .corrupt(.webp, "invalid parameter")
        default: throw .corrupt(.webp, "bitstream error")
        }
    }
}
