import CShims

/// PNG through libpng: every colour type and bit depth, palettes with tRNS, Adam7 interlacing.
enum PNGDecoder {
    /// `libraryMemoryPeak` learns the most memory libpng itself held (tests bound it).
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits,
                       libraryMemoryPeak: ((Int) -> Void)? = nil) throws(ImageDecodeError) -> DecodedImage {
        guard let decoder = hdb_png_decoder_create(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, limits.maxMetadataBytes) else {
            throw .outOfMemory(.png)
        }
        defer {
            libraryMemoryPeak?(hdb_png_decoder_peak_memory(decoder))
            hdb_png_decoder_destroy(decoder)
        }
        func check(_ status: Int32) throws(ImageDecodeError) {
            guard status != HDB_OK.rawValue else { return }
            let message = String(cString: hdb_png_decoder_message(decoder))
            switch hdb_status(UInt32(status)) {
            case HDB_TRUNCATED: throw .truncated(.png, message)
            case HDB_LIMIT: throw .limitExceeded(.png, message)
            case HDB_NOMEM: throw .outOfMemory(.png)
            default: throw .corrupt(.png, message.isEmpty ? "decoder error \(status)" : message)
            }
        }

        var header = hdb_png_header()
        try check(hdb_png_read_header(decoder, &header))
        let width = Int(header.width)
        let height = Int(header.height)
        try limits.check(width: width, height: height)

        // Pillow reads 16-bit grey as 32-bit integers and clips them to 255 when it makes RGB;
        // every other 16-bit image it reads by the high byte. Matching it keeps hashes equal
        // to the reference's.
        let isGrey16 = header.bit_depth == 16 && header.color_type == Int32(HDB_PNG_COLOR_GRAY)
        var rowBytes = 0
        try check(hdb_png_start(decoder, Int32((isGrey16 ? HDB_PNG_OUT_GRAY16 : HDB_PNG_OUT_RGB8).rawValue), &rowBytes))
        let expectedRowBytes = (isGrey16 ? 2 : 3) * width
        guard rowBytes == expectedRowBytes else {
            throw .corrupt(.png, "row of \(rowBytes) bytes where \(expectedRowBytes) were expected")
        }

        let image = try RGBImage(width: width, height: height) { (pixels) throws(ImageDecodeError) in
            if isGrey16 {
                let samples = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: rowBytes * height)
                defer { samples.deallocate() }
                let rows = (0..<height).map { Optional(samples.baseAddress! + $0 * rowBytes) }
                try check(hdb_png_read_image(decoder, rows))
                for pixel in 0..<(width * height) {
                    let value = Int(samples[2 * pixel]) << 8 | Int(samples[2 * pixel + 1])
                    let clipped = UInt8(min(value, 255))
                    pixels[3 * pixel] = clipped
                    pixels[3 * pixel + 1] = clipped
                    pixels[3 * pixel + 2] = clipped
                }
            } else {
                let rows = (0..<height).map { Optional(pixels.baseAddress! + $0 * rowBytes) }
                try check(hdb_png_read_image(decoder, rows))
            }
        }
        return DecodedImage(image: image, format: .png, sourceWidth: width, sourceHeight: height)
    }
}
