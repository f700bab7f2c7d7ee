/// The edits the match-quality benchmark makes to each original: what hosting providers and
/// hotlines see happen to images between upload and report. Each produces file bytes, encoded
/// with the project's own encoders (lossless PNG unless the edit is a re-encoding, so that only
/// the edit itself moves the hash).
public enum Variant: String, CaseIterable, Sendable {
    case jpeg90 = "jpeg-q90", jpeg70 = "jpeg-q70", jpeg50 = "jpeg-q50", jpeg30 = "jpeg-q30"
    case resize50 = "resize-50", resize25 = "resize-25"
    case crop1 = "crop-1", crop2 = "crop-2", crop5 = "crop-5"
    case watermark
    case brighter = "brightness+40", darker = "brightness-40"
    case grayscale
    case flip = "flip-horizontal"
    case rotate90 = "rotate-90"
    case border = "border-1px"
    case blur = "blur-2"
    case pngToJPEG = "png-to-jpeg", jpegToPNG = "jpeg-to-png"
    case metadata = "metadata-only"

    /// Bytes of the edited image. `source` is the original file's bytes (for the edits that
    /// keep or re-encode them), `image` its decoded pixels.
    public func apply(to image: RGBImage, source: [UInt8], sourceFormat: ImageFormat) throws -> [UInt8] {
        switch self {
        case .jpeg90: return try ImageEncoder.jpeg(image, options: .init(quality: 90))
        case .jpeg70: return try ImageEncoder.jpeg(image, options: .init(quality: 70))
        case .jpeg50: return try ImageEncoder.jpeg(image, options: .init(quality: 50))
        case .jpeg30: return try ImageEncoder.jpeg(image, options: .init(quality: 30))
        case .resize50: return try ImageEncoder.png(image.resized(width: max(1, image.width / 2), height: max(1, image.height / 2)))
        case .resize25: return try ImageEncoder.png(image.resized(width: max(1, image.width / 4), height: max(1, image.height / 4)))
        case .crop1: return try ImageEncoder.png(image.croppedBorder(fraction: 0.01))
        case .crop2: return try ImageEncoder.png(image.croppedBorder(fraction: 0.02))
        case .crop5: return try ImageEncoder.png(image.croppedBorder(fraction: 0.05))
        case .watermark: return try ImageEncoder.png(image.watermarked("SAMPLE"))
        case .brighter: return try ImageEncoder.png(image.adjusted { UInt8(min(255, Int($0) + 40)) })
        case .darker: return try ImageEncoder.png(image.adjusted { UInt8(max(0, Int($0) - 40)) })
        case .grayscale: return try ImageEncoder.png(image.grayscale())
        case .flip: return try ImageEncoder.png(image.mirrored())
        case .rotate90: return try ImageEncoder.png(image.rotatedClockwise())
        case .border: return try ImageEncoder.png(image.bordered(thickness: 1, color: (255, 255, 255)))
        case .blur: return try ImageEncoder.png(image.blurred(radius: 2))
        case .pngToJPEG: return try ImageEncoder.jpeg(image, options: .init(quality: 95))
        case .jpegToPNG:
            // A JPEG original as PNG; any other original first through JPEG (q95), then PNG.
            let pixels = sourceFormat == .jpeg ? image : try ImageDecoder().decode(ImageEncoder.jpeg(image, options: .init(quality: 95))).image
            return try ImageEncoder.png(pixels)
        case .metadata: return Self.withComment(source, format: sourceFormat)
        }
    }

    /// The same pixels with a comment added (a JPEG COM segment, a PNG tEXt chunk; other
    /// formats get a byte appended after the image data): the digests change, the hash must not.
    static func withComment(_ bytes: [UInt8], format: ImageFormat) -> [UInt8] {
        let comment = Array("edited by hashdb bench-quality".utf8)
        switch format {
        case .jpeg where bytes.count >= 2:
            let length = comment.count + 2
            return Array(bytes[0..<2]) + [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + comment + Array(bytes[2...])
        case .png where bytes.count >= 33:
            return Array(bytes[0..<33]) + PNGChunk.make("tEXt", Array("Comment".utf8) + [0] + comment) + Array(bytes[33...])
        default:
            return bytes + [0]
        }
    }
}

extension RGBImage {
    /// `text` in a 5×7 pixel font, scaled to about a twelfth of the image's height, white at 70 %
    /// over the bottom-right corner: the watermark a site stamps on what it reposts.
    public func watermarked(_ text: String) -> RGBImage {
        let scale = max(1, height / 84)
        let glyphs = text.uppercased().compactMap { Watermark.glyphs[$0] }
        let textWidth = glyphs.count * 6 * scale
        let left = max(0, width - textWidth - 2 * scale)
        let top = max(0, height - 9 * scale)
        var out = pixels
        for (index, glyph) in glyphs.enumerated() {
            for row in 0..<7 {
                for column in 0..<5 where glyph[row] & (1 << (4 - column)) != 0 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let x = left + (index * 6 + column) * scale + dx
                            let y = top + row * scale + dy
                            guard x < width, y < height else { continue }
                            let p = (y * width + x) * 3
                            for c in 0..<3 { out[p + c] = UInt8((Int(out[p + c]) * 3 + 255 * 7) / 10) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

private enum Watermark {
    /// Rows of 5 bits, top to bottom.
    static let glyphs: [Character: [UInt8]] = [
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F], "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        " ": [0, 0, 0, 0, 0, 0, 0],
    ]
}
