import CShims

/// JPEG through libjpeg-turbo: baseline, progressive, greyscale, RGB, CMYK and YCCK.
enum JPEGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits, scaling: ImageDecoder.Scaling)
        throws(ImageDecodeError) -> DecodedImage
    {
        // Whole-image coefficient buffers of a progressive file: 2 bytes a coefficient,
        // up to 4 components, for the largest image the limits allow, plus slack for tables.
        let memoryBudget = checkedProduct(limits.maxPixels, 8).flatMap { checkedSum($0, 64 << 20) } ?? Int.max
        guard let decoder = hdb_jpeg_decoder_create(UInt32(clamping: limits.maxJPEGScans), memoryBudget) else {
            throw .outOfMemory(.jpeg)
        }
        defer { hdb_jpeg_decoder_destroy(decoder) }
        let session = Session(decoder: decoder)

        var header = hdb_jpeg_header()
        try session.check(hdb_jpeg_read_header(decoder, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &header))
        let sourceWidth = Int(header.width)
        let sourceHeight = Int(header.height)
        try limits.check(width: sourceWidth, height: sourceHeight)

        let outputSpace: hdb_color_space
        switch hdb_color_space(UInt32(header.color_space)) {
        case HDB_CS_GRAY, HDB_CS_RGB, HDB_CS_YCBCR:
            outputSpace = HDB_CS_RGB
        case HDB_CS_CMYK, HDB_CS_YCCK:
            outputSpace = HDB_CS_CMYK  // libjpeg converts YCCK to CMYK; CMYK to RGB is ours
        default:
            throw .unsupportedFeature(.jpeg, "colour space with \(header.components) components")
        }
        let denominator = scaling == .fast ? fastScaleDenominator(width: sourceWidth, height: sourceHeight) : 1
        var width: UInt32 = 0
        var height: UInt32 = 0
        var components: Int32 = 0
        try session.check(hdb_jpeg_start(decoder, Int32(outputSpace.rawValue), UInt32(denominator), &width, &height, &components))
        guard components == (outputSpace == HDB_CS_CMYK ? 4 : 3) else {
            throw .corrupt(.jpeg, "decoder produced \(components) components")
        }

        let image = try RGBImage(width: Int(width), height: Int(height)) { (pixels) throws(ImageDecodeError) in
            if outputSpace == HDB_CS_CMYK {
                try session.readCMYKRows(into: pixels, width: Int(width), height: Int(height))
            } else {
                try session.readRGBRows(into: pixels, width: Int(width), height: Int(height))
            }
        }
        return DecodedImage(image: image, format: .jpeg, sourceWidth: sourceWidth, sourceHeight: sourceHeight)
    }

    /// The largest DCT scaling (1/2, 1/4, 1/8) that keeps both sides at least 2 × 64, the
    /// smallest input PDQ's two box-filter passes were designed for.
    static func fastScaleDenominator(width: Int, height: Int) -> Int {
        for denominator in [8, 4, 2] {
            let scaledWidth = (width + denominator - 1) / denominator
            let scaledHeight = (height + denominator - 1) / denominator
            if scaledWidth >= 128 && scaledHeight >= 128 {
                return denominator
            }
        }
        return 1
    }

    /// Rows are handed to libjpeg in small batches; this many is more than it ever returns at once.
    private static let rowsPerBatch = 16

    private struct Session {
        let decoder: OpaquePointer

        func check(_ status: Int32) throws(ImageDecodeError) {
            guard status != HDB_OK.rawValue else { return }
            let message = String(cString: hdb_jpeg_decoder_message(decoder))
            switch hdb_status(UInt32(status)) {
            case HDB_TRUNCATED: throw .truncated(.jpeg, message)
            case HDB_LIMIT: throw .limitExceeded(.jpeg, message)
            case HDB_NOMEM: throw .outOfMemory(.jpeg)
            default: throw .corrupt(.jpeg, message.isEmpty ? "decoder error \(status)" : message)
            }
        }

        func readRGBRows(into pixels: UnsafeMutableBufferPointer<UInt8>, width: Int, height: Int) throws(ImageDecodeError) {
            let stride = width * 3
            var row = 0
            var pointers = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: JPEGDecoder.rowsPerBatch)
            while row < height {
                let batch = min(JPEGDecoder.rowsPerBatch, height - row)
                for index in 0..<batch {
                    pointers[index] = pixels.baseAddress! + (row + index) * stride
                }
                var read: UInt32 = 0
                try check(hdb_jpeg_read_rows(decoder, pointers, UInt32(batch), &read))
                guard read > 0 else {
                    throw .truncated(.jpeg, "image data ended at row \(row) of \(height)")
                }
                row += Int(read)
            }
        }

        func readCMYKRows(into pixels: UnsafeMutableBufferPointer<UInt8>, width: Int, height: Int) throws(ImageDecodeError) {
            let cmykStride = width * 4
            let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: cmykStride * JPEGDecoder.rowsPerBatch)
            defer { scratch.deallocate() }
            var pointers = (0..<JPEGDecoder.rowsPerBatch).map { Optional(scratch.baseAddress! + $0 * cmykStride) }
            var row = 0
            while row < height {
                let batch = min(JPEGDecoder.rowsPerBatch, height - row)
                var read: UInt32 = 0
                try check(hdb_jpeg_read_rows(decoder, &pointers, UInt32(batch), &read))
                guard read > 0 else {
                    throw .truncated(.jpeg, "image data ended at row \(row) of \(height)")
                }
                let rgb = UnsafeMutableBufferPointer(rebasing: pixels[(row * width * 3)..<((row + Int(read)) * width * 3)])
                convertAdobeCMYKToRGB(UnsafeBufferPointer(rebasing: scratch[0..<(Int(read) * cmykStride)]), into: rgb)
                row += Int(read)
            }
        }
    }

    /// CMYK as Pillow, the reference decoder, turns it into RGB: it reads every 4-component
    /// JPEG as Adobe-inverted CMYK, then R = (255 − K) − C·(255 − K)/255 with its rounding.
    static func convertAdobeCMYKToRGB(_ cmyk: UnsafeBufferPointer<UInt8>, into rgb: UnsafeMutableBufferPointer<UInt8>) {
        let pixels = cmyk.count / 4
        precondition(rgb.count == pixels * 3, "CMYK and RGB buffers differ in pixels")
        @inline(__always) func mulDiv255(_ a: Int, _ b: Int) -> Int {
            let t = a * b + 128
            return ((t >> 8) + t) >> 8
        }
        for pixel in 0..<pixels {
            let notK = Int(cmyk[4 * pixel + 3])  // 255 − K of the inverted value = stored value
            for channel in 0..<3 {
                let c = 255 - Int(cmyk[4 * pixel + channel])
                rgb[3 * pixel + channel] = UInt8(notK - mulDiv255(c, notK))
            }
        }
    }
}
