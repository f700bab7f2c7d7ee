import Foundation

/// Images the project makes itself for its tests, fixtures and benchmarks: abstract scenes
/// (a gradient, shapes, stripes) with plenty of structure for PDQ and nothing that resembles a
/// photograph of anyone. Deterministic: a seed always gives the same pixels.
public enum SyntheticImage {
    /// SplitMix64: small, fast, and the same on every platform.
    public struct Random: RandomNumberGenerator {
        public var state: UInt64

        public init(state: UInt64) {
            self.state = state
        }

        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        public mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }

        public mutating func unit() -> Double {
            Double(next() >> 11) / Double(1 << 53)
        }
    }

    /// An abstract scene (gradient, shapes, stripes): plenty of structure for PDQ, nothing that
    /// resembles a photograph of anyone.
    public static func scene(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var random = Random(state: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let from = (0..<3).map { _ in random.unit() * 255 }
        let to = (0..<3).map { _ in random.unit() * 255 }
        let angle = random.unit() * .pi
        let (dx, dy) = (cos(angle), sin(angle))
        for y in 0..<height {
            for x in 0..<width {
                let t = max(0, min(1, (Double(x) / Double(width) * dx + Double(y) / Double(height) * dy + 1) / 2))
                for c in 0..<3 {
                    pixels[(y * width + x) * 3 + c] = UInt8(from[c] + (to[c] - from[c]) * t)
                }
            }
        }
        for _ in 0..<14 {
            let color = (0..<3).map { _ in UInt8(random.int(0...255)) }
            let cx = random.int(0...width - 1)
            let cy = random.int(0...height - 1)
            let rx = random.int(max(2, width / 20)...max(3, width / 4))
            let ry = random.int(max(2, height / 20)...max(3, height / 4))
            let ellipse = random.int(0...1) == 1
            for y in max(0, cy - ry)..<min(height, cy + ry) {
                for x in max(0, cx - rx)..<min(width, cx + rx) {
                    if ellipse {
                        let u = Double(x - cx) / Double(rx)
                        let v = Double(y - cy) / Double(ry)
                        if u * u + v * v > 1 { continue }
                    }
                    for c in 0..<3 {
                        pixels[(y * width + x) * 3 + c] = color[c]
                    }
                }
            }
        }
        let period = Double(random.int(6...24))
        for y in 0..<height {
            for x in 0..<width where Int(Double(x + y) / period) % 5 == 0 {
                for c in 0..<3 {
                    let index = (y * width + x) * 3 + c
                    pixels[index] = UInt8(Int(pixels[index]) * 3 / 4)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
