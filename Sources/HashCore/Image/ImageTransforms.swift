/// Geometric and tonal edits of an image: how the scan tests make near duplicates, how the
/// quality benchmark makes its variants, and how scan reports make thumbnails.
extension RGBImage {
    /// Left and right swapped.
    public func mirrored() -> RGBImage {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                let from = (y * width + (width - 1 - x)) * 3
                let to = (y * width + x) * 3
                out[to] = pixels[from]
                out[to + 1] = pixels[from + 1]
                out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Turned a quarter clockwise.
    public func rotatedClockwise() -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<height {
            for x in 0..<width {
                let from = (y * width + x) * 3
                let to = (x * height + (height - 1 - y)) * 3
                out[to] = pixels[from]
                out[to + 1] = pixels[from + 1]
                out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: height, height: width, pixels: out)
    }

    /// The rectangle `x..<x+width`, `y..<y+height` (clamped to the image, at least 1×1).
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        let left = min(max(0, x), width - 1)
        let top = min(max(0, y), height - 1)
        let w = max(1, min(cropWidth, width - left))
        let h = max(1, min(cropHeight, height - top))
        var out = [UInt8]()
        out.reserveCapacity(w * h * 3)
        for row in top..<(top + h) {
            let start = (row * width + left) * 3
            out += pixels[start..<(start + w * 3)]
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// `fraction` of each side cut away, half from each edge.
    public func croppedBorder(fraction: Double) -> RGBImage {
        let dx = Int(Double(width) * fraction / 2)
        let dy = Int(Double(height) * fraction / 2)
        return cropped(x: dx, y: dy, width: width - 2 * dx, height: height - 2 * dy)
    }

    /// Resampled to `newWidth` × `newHeight` by averaging the source pixels each target pixel
    /// covers (a box filter: right for shrinking; enlarging repeats pixels).
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        let w = max(1, newWidth)
        let h = max(1, newHeight)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for ty in 0..<h {
            let y0 = ty * height / h
            let y1 = max(y0 + 1, (ty + 1) * height / h)
            for tx in 0..<w {
                let x0 = tx * width / w
                let x1 = max(x0 + 1, (tx + 1) * width / w)
                var sums = (0, 0, 0)
                for sy in y0..<y1 {
                    for sx in x0..<x1 {
                        let p = (sy * width + sx) * 3
                        sums.0 += Int(pixels[p])
                        sums.1 += Int(pixels[p + 1])
                        sums.2 += Int(pixels[p + 2])
                    }
                }
                let count = (y1 - y0) * (x1 - x0)
                let t = (ty * w + tx) * 3
                out[t] = UInt8((sums.0 + count / 2) / count)
                out[t + 1] = UInt8((sums.1 + count / 2) / count)
                out[t + 2] = UInt8((sums.2 + count / 2) / count)
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// Shrunk (never enlarged) so that neither side exceeds `maxSide`, keeping the aspect ratio.
    public func fitting(maxSide: Int) -> RGBImage {
        let longest = max(width, height)
        guard longest > maxSide else { return self }
        return resized(width: max(1, width * maxSide / longest), height: max(1, height * maxSide / longest))
    }

    /// Every sample mapped through `transfer` (brightness, contrast).
    public func adjusted(_ transfer: (UInt8) -> UInt8) -> RGBImage {
        var table = [UInt8](repeating: 0, count: 256)
        for value in 0..<256 { table[value] = transfer(UInt8(value)) }
        return RGBImage(width: width, height: height, pixels: pixels.map { table[Int($0)] })
    }

    /// Luma (BT.601) in all three channels.
    public func grayscale() -> RGBImage {
        var out = pixels
        for p in stride(from: 0, to: pixels.count, by: 3) {
            let luma = (299 * Int(pixels[p]) + 587 * Int(pixels[p + 1]) + 114 * Int(pixels[p + 2]) + 500) / 1000
            out[p] = UInt8(luma)
            out[p + 1] = UInt8(luma)
            out[p + 2] = UInt8(luma)
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// A frame `thickness` pixels wide of `color` around the image.
    public func bordered(thickness: Int, color: (UInt8, UInt8, UInt8)) -> RGBImage {
        let w = width + 2 * thickness
        let h = height + 2 * thickness
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for p in stride(from: 0, to: out.count, by: 3) {
            out[p] = color.0
            out[p + 1] = color.1
            out[p + 2] = color.2
        }
        for y in 0..<height {
            let to = ((y + thickness) * w + thickness) * 3
            let from = y * width * 3
            out.replaceSubrange(to..<(to + width * 3), with: pixels[from..<(from + width * 3)])
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// A box blur of the given radius (each pixel the mean of its (2r+1)² neighbourhood, edges clamped).
    public func blurred(radius: Int) -> RGBImage {
        guard radius > 0 else { return self }
        func pass(_ source: [UInt8], horizontal: Bool) -> [UInt8] {
            var out = source
            let (outer, inner) = horizontal ? (height, width) : (width, height)
            for o in 0..<outer {
                for i in 0..<inner {
                    var sums = (0, 0, 0)
                    for k in -radius...radius {
                        let j = min(max(0, i + k), inner - 1)
                        let p = (horizontal ? o * width + j : j * width + o) * 3
                        sums.0 += Int(source[p])
                        sums.1 += Int(source[p + 1])
                        sums.2 += Int(source[p + 2])
                    }
                    let n = 2 * radius + 1
                    let t = (horizontal ? o * width + i : i * width + o) * 3
                    out[t] = UInt8(sums.0 / n)
                    out[t + 1] = UInt8(sums.1 / n)
                    out[t + 2] = UInt8(sums.2 / n)
                }
            }
            return out
        }
        return RGBImage(width: width, height: height, pixels: pass(pass(pixels, horizontal: true), horizontal: false))
    }
}
