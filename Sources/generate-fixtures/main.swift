// Writes the project's own test images: every decoder case HashCore claims to handle, and
// files it must refuse with a typed error. Deterministic: the same build writes the same bytes.
// Run through Fixtures/generate, which also records the reference hashes.
import Foundation
import HashCore

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write("usage: generate-fixtures FIXTURES_DIRECTORY\n".data(using: .utf8)!)
    exit(64)
}
let root = URL(fileURLWithPath: CommandLine.arguments[1])

func write(_ bytes: [UInt8], to relativePath: String) throws {
    let url = root.appendingPathComponent(relativePath)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
}

// MARK: Content

func grey(_ image: RGBImage) -> [UInt8] {
    (0..<(image.width * image.height)).map { (index: Int) -> UInt8 in
        let red: Int = Int(image.pixels[3 * index]) * 299
        let green: Int = Int(image.pixels[3 * index + 1]) * 587
        let blue: Int = Int(image.pixels[3 * index + 2]) * 114
        return UInt8((red + green + blue) / 1000)
    }
}

/// Packs samples of `bits` bits (1, 2, 4, 8) or writes them big-endian (16), row by row.
func pack(_ samples: [Int], width: Int, channels: Int, bits: Int) -> [UInt8] {
    let rowSamples = width * channels
    let height = samples.count / rowSamples
    var bytes: [UInt8] = []
    for row in 0..<height {
        let slice = samples[(row * rowSamples)..<((row + 1) * rowSamples)]
        if bits == 16 {
            for sample in slice {
                bytes.append(UInt8(sample >> 8))
                bytes.append(UInt8(sample & 0xFF))
            }
        } else if bits == 8 {
            bytes += slice.map { UInt8($0) }
        } else {
            var byte = 0
            var used = 0
            for sample in slice {
                byte = (byte << bits) | sample
                used += bits
                if used == 8 {
                    bytes.append(UInt8(byte))
                    byte = 0
                    used = 0
                }
            }
            if used > 0 {
                bytes.append(UInt8(byte << (8 - used)))
            }
        }
    }
    return bytes
}

let base = SyntheticImage.scene(width: 320, height: 240, seed: 1)
let greyBase = grey(base)

// MARK: JPEG

try write(ImageEncoder.jpeg(base), to: "images/jpeg/baseline.jpg")
try write(ImageEncoder.jpeg(base, options: .init(quality: 85, progressive: true)), to: "images/jpeg/progressive.jpg")
try write(ImageEncoder.jpeg(samples: greyBase, width: 320, height: 240, components: 1, options: .init(colorSpace: .grayscale)),
          to: "images/jpeg/grayscale.jpg")
try write(ImageEncoder.jpeg(base, options: .init(colorSpace: .rgb)), to: "images/jpeg/rgb-colorspace.jpg")
try write(ImageEncoder.jpeg(base, options: .init(quality: 10)), to: "images/jpeg/quality-10.jpg")
let odd = SyntheticImage.scene(width: 333, height: 217, seed: 2)
try write(ImageEncoder.jpeg(odd), to: "images/jpeg/odd-size-333x217.jpg")
try write(ImageEncoder.jpeg(SyntheticImage.scene(width: 4, height: 3, seed: 3)), to: "images/jpeg/tiny-4x3.jpg")

/// Adobe-style CMYK samples, stored inverted as Photoshop writes them.
let cmyk: [UInt8] = (0..<(320 * 240)).flatMap { index -> [UInt8] in
    let r = Int(base.pixels[3 * index]), g = Int(base.pixels[3 * index + 1]), b = Int(base.pixels[3 * index + 2])
    let k = 255 - max(r, g, b)
    let ink = [255 - r - k, 255 - g - k, 255 - b - k, k].map { max(0, $0) }
    return ink.map { UInt8(255 - $0) }
}
try write(ImageEncoder.jpeg(samples: cmyk, width: 320, height: 240, components: 4, options: .init(colorSpace: .cmyk)),
          to: "images/jpeg/cmyk.jpg")
try write(ImageEncoder.jpeg(samples: cmyk, width: 320, height: 240, components: 4, options: .init(colorSpace: .ycck)),
          to: "images/jpeg/ycck.jpg")

/// The baseline JPEG with an EXIF segment saying "rotate 90° clockwise" (orientation 6): the
/// reference ignores it, so hashes must equal those of the unrotated pixels.
func withExifOrientation(_ jpeg: [UInt8], orientation: UInt16) -> [UInt8] {
    var tiff: [UInt8] = Array("MM".utf8) + [0x00, 0x2A, 0, 0, 0, 8]
    tiff += [0x00, 0x01]  // one IFD entry
    tiff += [0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, UInt8(orientation >> 8), UInt8(orientation & 0xFF), 0, 0]
    tiff += [0, 0, 0, 0]  // no next IFD
    let payload = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
}
try write(withExifOrientation(try ImageEncoder.jpeg(base), orientation: 6), to: "images/jpeg/exif-orientation-6.jpg")

// MARK: PNG

func png(_ samples: [Int], channels: Int, bits: Int, _ type: ImageEncoder.PNGColorType, width: Int = 320,
         interlaced: Bool = false, palette: [UInt8] = [], paletteAlpha: [UInt8] = [], transparent: [UInt16] = []) throws -> [UInt8] {
    let rows = pack(samples, width: width, channels: channels, bits: bits)
    let options = ImageEncoder.PNGOptions(colorType: type, bitDepth: bits, interlaced: interlaced, palette: palette,
                                          paletteAlpha: paletteAlpha, transparentColor: transparent)
    return try ImageEncoder.png(rows: rows, width: width, height: rows.count / options.rowBytes(width: width), options: options)
}

let greyInts = greyBase.map(Int.init)
let rgbInts = base.pixels.map(Int.init)
let alphaInts = (0..<(320 * 240)).map { ($0 % 320) * 255 / 319 }  // a horizontal alpha ramp
for bits in [1, 2, 4, 8] {
    let maximum = (1 << bits) - 1
    try write(png(greyInts.map { ($0 * maximum + 127) / 255 }, channels: 1, bits: bits, .gray), to: "images/png/gray\(bits).png")
}
// 16-bit grey: the reference clips values over 255 (the lighter half of this image).
try write(png(greyInts.map { $0 * 2 }, channels: 1, bits: 16, .gray), to: "images/png/gray16.png")
// 16-bit grey kept under 256: the clipping rule leaves these values as they are.
try write(png(greyInts, channels: 1, bits: 16, .gray), to: "images/png/gray16-low.png")
let greyAlpha = zip(greyInts, alphaInts).flatMap { [$0, $1] }
try write(png(greyAlpha, channels: 2, bits: 8, .grayAlpha), to: "images/png/gray-alpha8.png")
try write(png(greyAlpha.map { $0 * 257 }, channels: 2, bits: 16, .grayAlpha), to: "images/png/gray-alpha16.png")
try write(png(rgbInts, channels: 3, bits: 8, .rgb), to: "images/png/rgb8.png")
try write(png(rgbInts.map { $0 * 257 + 99 }.map { min($0, 65535) }, channels: 3, bits: 16, .rgb), to: "images/png/rgb16.png")
let rgba: [Int] = (0..<(320 * 240)).flatMap { (index: Int) -> [Int] in
    [rgbInts[3 * index], rgbInts[3 * index + 1], rgbInts[3 * index + 2], alphaInts[index]]
}
try write(png(rgba, channels: 4, bits: 8, .rgbAlpha), to: "images/png/rgba8.png")
try write(png(rgba.map { $0 * 257 }, channels: 4, bits: 16, .rgbAlpha), to: "images/png/rgba16.png")

/// A palette image: each pixel's grey level quantised to the palette's size, palette colours
/// spread over a colour ramp.
func paletteImage(bits: Int) -> (indices: [Int], palette: [UInt8]) {
    let entries = 1 << bits
    let palette = (0..<entries).flatMap { i -> [UInt8] in
        let t = Double(i) / Double(max(1, entries - 1))
        return [UInt8(255 * t), UInt8(255 * (1 - t)), UInt8(128 + 127 * sin(t * 6))]
    }
    return (greyInts.map { ($0 * (entries - 1) + 127) / 255 }, palette)
}
for bits in [1, 2, 4, 8] {
    let (indices, palette) = paletteImage(bits: bits)
    try write(png(indices, channels: 1, bits: bits, .palette, palette: palette), to: "images/png/palette\(bits).png")
}
let (indices8, palette8) = paletteImage(bits: 8)
try write(png(indices8, channels: 1, bits: 8, .palette, palette: palette8, paletteAlpha: (0..<256).map { UInt8(255 - $0) }),
          to: "images/png/palette-trns.png")
try write(png(greyInts, channels: 1, bits: 8, .gray, transparent: [UInt16(greyInts[0])]), to: "images/png/gray-trns.png")
try write(png(rgbInts, channels: 3, bits: 8, .rgb, transparent: [UInt16(rgbInts[0]), UInt16(rgbInts[1]), UInt16(rgbInts[2])]),
          to: "images/png/rgb-trns.png")
try write(png(rgbInts, channels: 3, bits: 8, .rgb, interlaced: true), to: "images/png/interlaced-rgb8.png")
let (indices4, palette4) = paletteImage(bits: 4)
try write(png(indices4, channels: 1, bits: 4, .palette, interlaced: true, palette: palette4), to: "images/png/interlaced-palette4.png")
try write(png(greyInts.map { $0 * 3 / 2 }, channels: 1, bits: 16, .gray, interlaced: true), to: "images/png/interlaced-gray16.png")
try write(png(rgba.map { $0 * 257 }, channels: 4, bits: 16, .rgbAlpha, interlaced: true), to: "images/png/interlaced-rgba16.png")
try write(png(Array(repeating: 200, count: 64 * 64 * 3), channels: 3, bits: 8, .rgb, width: 64), to: "images/png/blank.png")

// MARK: WebP

try write(ImageEncoder.webp(base, lossless: false, quality: 80), to: "images/webp/lossy.webp")
try write(ImageEncoder.webp(base, lossless: true), to: "images/webp/lossless.webp")
let rgbaBytes = rgba.map { UInt8($0) }
try write(ImageEncoder.webp(samples: rgbaBytes, width: 320, height: 240, hasAlpha: true, lossless: false), to: "images/webp/lossy-alpha.webp")
try write(ImageEncoder.webp(samples: rgbaBytes, width: 320, height: 240, hasAlpha: true, lossless: true), to: "images/webp/lossless-alpha.webp")

// A PNG whose name says JPEG: formats are told by their bytes.
try write(ImageEncoder.png(odd), to: "images/other/png-named.jpg")

// MARK: Files that must be refused

var refusals: [(file: String, code: String)] = []
@MainActor func refuse(_ bytes: [UInt8], _ file: String, _ code: String) throws {
    try write(bytes, to: "bad/" + file)
    refusals.append((file, code))
}

let baselineJPEG = try ImageEncoder.jpeg(base)
let progressiveJPEG = try ImageEncoder.jpeg(base, options: .init(quality: 85, progressive: true))
let rgbPNG = try ImageEncoder.png(base)
let lossyWebP = try ImageEncoder.webp(base, lossless: false, quality: 80)
let losslessWebP = try ImageEncoder.webp(base, lossless: true)

try refuse([], "empty.jpg", "empty")
try refuse(Array("just some text, not an image\n".utf8), "text.png", "unsupported_format")
try refuse(Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0, 0x3B], "animation.gif", "unsupported_format")
try refuse(Array(baselineJPEG.prefix(baselineJPEG.count * 6 / 10)), "truncated-baseline.jpg", "truncated")
try refuse(Array(progressiveJPEG.prefix(progressiveJPEG.count / 2)), "truncated-progressive.jpg", "truncated")
try refuse(Array(baselineJPEG.prefix(120)), "truncated-header.jpg", "truncated")
/// A JPEG whose frame header claims 5 components of which the scan knows nothing.
func corruptJPEG() -> [UInt8] {
    var bytes = baselineJPEG
    for index in 0..<(bytes.count - 10) where bytes[index] == 0xFF && bytes[index + 1] == 0xC0 {
        bytes[index + 9] = 0  // number of components
        break
    }
    return bytes
}
try refuse(corruptJPEG(), "corrupt-frame-header.jpg", "corrupt")
try refuse(Array(rgbPNG.prefix(rgbPNG.count * 6 / 10)), "truncated.png", "truncated")
var badCRC = rgbPNG
badCRC[20] ^= 0xFF  // inside IHDR's data: its CRC no longer matches
try refuse(badCRC, "corrupt-crc.png", "corrupt")
try refuse(Array(lossyWebP.prefix(lossyWebP.count / 2)), "truncated.webp", "truncated")
var badWebP = losslessWebP
for index in 40..<min(badWebP.count, 400) { badWebP[index] = 0xFF }
try refuse(badWebP, "corrupt.webp", "corrupt")

func bigEndian(_ value: UInt32) -> [UInt8] { PNGChunk.bigEndian(value) }
func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] { PNGChunk.make(type, data) }

/// A well-formed PNG that declares a huge image but holds almost no data.
func pngDeclaring(width: UInt32, height: UInt32) -> [UInt8] {
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    let header = bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
    let emptyDeflate: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
    return signature + chunk("IHDR", header) + chunk("IDAT", emptyDeflate) + chunk("IEND", [])
}
try refuse(pngDeclaring(width: 100_000, height: 100_000), "bomb-100000x100000.png", "too_many_pixels")
try refuse(pngDeclaring(width: 70_000, height: 10), "wide-70000x10.png", "dimension_too_large")
try refuse(pngDeclaring(width: 0, height: 10), "zero-width.png", "corrupt")

/// The small baseline JPEG with its frame header claiming 65000 × 65000.
func jpegDeclaring(side: Int) -> [UInt8] {
    var bytes = baselineJPEG
    for index in 0..<(bytes.count - 10) where bytes[index] == 0xFF && bytes[index + 1] == 0xC0 {
        bytes[index + 5] = UInt8(side >> 8)
        bytes[index + 6] = UInt8(side & 0xFF)
        bytes[index + 7] = UInt8(side >> 8)
        bytes[index + 8] = UInt8(side & 0xFF)
        break
    }
    return bytes
}
try refuse(jpegDeclaring(side: 65_000), "bomb-65000x65000.jpg", "too_many_pixels")

/// The lossy WebP with its VP8 frame header claiming 16383 × 16383 (the format's maximum).
func webpDeclaringMaximum() -> [UInt8] {
    var bytes = lossyWebP
    // RIFF header (12) + "VP8 " chunk header (8) + frame tag (3) + start code (3) = 26
    bytes[26] = 0xFF
    bytes[27] = 0x3F
    bytes[28] = 0xFF
    bytes[29] = 0x3F
    return bytes
}
try refuse(webpDeclaringMaximum(), "bomb-16383x16383.webp", "too_many_pixels")


// Hostile but valid: images whose metadata would inflate to 64 MiB. PDQ ignores metadata and
// libpng (under the 8 MiB metadata limit) never inflates them in full: they must decode, to the
// same pixels as rgb8.png, in bounded memory and time (Fixtures/hostile).

/// The RGB PNG with an ICC profile chunk that declares and inflates to 64 MiB: 430 KB on disk.
let iccBomb = Array(rgbPNG[0..<33]) + chunk("iCCP", Array("bomb".utf8) + [0, 0] + PNGChunk.zlibZeros(64 << 20, prefix: [4, 0, 0, 0]))
    + Array(rgbPNG[33...])
try write(iccBomb, to: "hostile/icc-64mib.png")
/// The RGB PNG with a compressed text chunk that inflates to 64 MiB.
let textBomb = Array(rgbPNG[0..<33]) + chunk("zTXt", Array("Comment".utf8) + [0, 0] + PNGChunk.zlibZeros(64 << 20)) + Array(rgbPNG[33...])
try write(textBomb, to: "hostile/ztxt-64mib.png")

let table = "file\terror_code\n" + refusals.map { "\($0.file)\t\($0.code)\n" }.joined()
try write(Array(table.utf8), to: "bad/expected.tsv")
print("wrote fixtures under \(root.path)")
