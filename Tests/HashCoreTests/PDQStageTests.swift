import Foundation
import Testing

@testable import HashCore

/// Each PDQ stage on its own, and the fast path held to the stage-by-stage composition.
@Suite struct PDQStageTests {
    /// Random pixels with some structure (so medians are not degenerate).
    static func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var generator = SeededGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let base = (x * 7 + y * 3) % 256
                for c in 0..<3 {
                    pixels[(y * width + x) * 3 + c] = UInt8((base + Int(generator.next() % 64)) % 256)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func windowSizeIsASixtyFourthHalvedRoundedUp() {
        #expect(PDQ.jaroszWindowSize(1600) == 13)
        #expect(PDQ.jaroszWindowSize(1004) == 8)
        #expect(PDQ.jaroszWindowSize(128) == 1)
        #expect(PDQ.jaroszWindowSize(129) == 2)
        #expect(PDQ.jaroszWindowSize(5) == 1)
    }

    @Test(arguments: [(1, 9), (3, 10), (4, 10), (7, 16), (8, 16), (13, 100)])
    func boxFilterAveragesItsWindow(window: Int, length: Int) {
        let input = (0..<length).map { Float($0 * $0 % 17) }
        var output = [Float](repeating: .nan, count: length)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                PDQ.boxFilter1D(i.baseAddress!, o.baseAddress!, length: length, stride: 1, window: window)
            }
        }
        // Output i averages inputs i − (window − half) ... i + (half − 1), clipped to the vector
        // (centred for odd windows, one more ahead than behind for even ones).
        let half = (window + 2) / 2
        for i in 0..<length {
            let lower = max(0, i - (window - half))
            let upper = min(length - 1, i + half - 1)
            let mean = input[lower...upper].reduce(0, +) / Float(upper - lower + 1)
            #expect(abs(output[i] - mean) < 1e-4, "index \(i)")
        }
    }

    @Test func columnPassEqualsReferenceColumnByColumn() {
        let rows = 37, columns = 29
        let input = (0..<(rows * columns)).map { Float(($0 * 7919) % 255) / 3 }
        var vectorised = [Float](repeating: 0, count: rows * columns)
        var reference = [Float](repeating: 0, count: rows * columns)
        var sums = [Float](repeating: 0, count: columns)
        input.withUnsafeBufferPointer { i in
            vectorised.withUnsafeMutableBufferPointer { o in
                sums.withUnsafeMutableBufferPointer { s in
                    PDQ.boxFilterAlongColumns(i.baseAddress!, o.baseAddress!, rows: rows, columns: columns, window: 4, sums: s.baseAddress!)
                }
            }
            reference.withUnsafeMutableBufferPointer { o in
                for column in 0..<columns {
                    PDQ.boxFilter1D(i.baseAddress! + column, o.baseAddress! + column, length: rows, stride: columns, window: 4)
                }
            }
        }
        #expect(vectorised == reference)
    }

    /// The fused fast path must give the very floats of luma → Jarosz filter → decimate, for
    /// sizes below, at and above 64, odd sizes and row counts that are not multiples of 8.
    @Test(arguments: [(5, 5), (6, 9), (26, 28), (63, 65), (64, 64), (100, 37), (129, 250), (333, 217), (1000, 13)])
    func downsampleEqualsTheStagesComposed(width: Int, height: Int) {
        let image = Self.randomImage(width: width, height: height, seed: UInt64(width * 1000 + height))
        var luma = [Float](repeating: 0, count: width * height)
        var scratch = [Float](repeating: 0, count: width * height)
        var sums = [Float](repeating: 0, count: width)
        var expected = [Float](repeating: 0, count: 64 * 64)
        luma.withUnsafeMutableBufferPointer { l in
            PDQ.luma(of: image, into: l.baseAddress!)
            scratch.withUnsafeMutableBufferPointer { s in
                sums.withUnsafeMutableBufferPointer { sums in
                    PDQ.jaroszFilter(l.baseAddress!, scratch: s.baseAddress!, rows: height, columns: width, sums: sums.baseAddress!)
                }
            }
            expected.withUnsafeMutableBufferPointer { e in
                PDQ.decimate(l.baseAddress!, rows: height, columns: width, into: e.baseAddress!)
            }
        }
        var buffers = PDQ.DownsampleBuffers()
        var actual = [Float](repeating: .nan, count: 64 * 64)
        image.pixels.withUnsafeBufferPointer { rgb in
            actual.withUnsafeMutableBufferPointer { a in
                PDQ.downsample(rgb: rgb.baseAddress!, rows: height, columns: width, buffers: &buffers, into: a.baseAddress!)
            }
        }
        #expect(actual == expected)
    }

    @Test func lumaTablesGiveTheSameFloatsAsArithmetic() {
        PDQ.redGreenProducts.withUnsafeBufferPointer { redGreen in
            PDQ.blueProducts.withUnsafeBufferPointer { blue in
                for value in stride(from: 0, to: 1 << 24, by: 997) {
                    let pixel: [UInt8] = [UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
                    pixel.withUnsafeBufferPointer { p in
                        #expect(PDQ.luma(p.baseAddress!, redGreen: redGreen.baseAddress!, blue: blue.baseAddress!) == PDQ.luma(p.baseAddress!))
                    }
                }
            }
        }
    }

    @Test func torbenMedianIsTheLowerMedian() {
        var generator = SeededGenerator(seed: 7)
        for count in [1, 2, 3, 10, 255, 256] {
            let values = (0..<count).map { _ in Float(generator.next() % 1000) / 7 }
            let median = values.withUnsafeBufferPointer { PDQ.torbenMedian($0.baseAddress!, count: count) }
            #expect(median == values.sorted()[(count - 1) / 2], "count \(count)")
        }
    }

    @Test func dctMatchesItsDefinition() {
        let block = (0..<(64 * 64)).map { Float(($0 * 31) % 256) }
        var temporary = [Float](repeating: 0, count: 16 * 64)
        var output = [Float](repeating: 0, count: 256)
        block.withUnsafeBufferPointer { b in
            temporary.withUnsafeMutableBufferPointer { t in
                output.withUnsafeMutableBufferPointer { o in
                    PDQ.dct64To16(b.baseAddress!, temporary: t.baseAddress!, into: o.baseAddress!)
                }
            }
        }
        let scale = (2.0 / 64.0).squareRoot()
        func d(_ i: Int, _ j: Int) -> Double { scale * cos(Double.pi / 128 * Double(i + 1) * Double(2 * j + 1)) }
        for (i, j) in [(0, 0), (3, 7), (15, 15), (9, 2)] {
            var sum = 0.0
            for k in 0..<64 {
                for l in 0..<64 {
                    sum += d(i, k) * Double(block[k * 64 + l]) * d(j, l)
                }
            }
            #expect(abs(Double(output[i * 16 + j]) - sum) < 0.05 * max(1, abs(sum) / 1000), "(\(i), \(j))")
        }
    }

    @Test func thresholdSetsBitsAboveTheMedian() {
        let dct = (0..<256).map { Float($0) }  // median (lower) is 127.0
        let hash = dct.withUnsafeBufferPointer { PDQ.threshold($0.baseAddress!) }
        for bit in 0..<256 {
            #expect(hash.bit(bit) == (bit > 127))
        }
        // Bit k of coefficient k: the top 128 coefficients fill the first 32 hex digits.
        #expect(hash.hex == String(repeating: "f", count: 32) + String(repeating: "0", count: 32))
    }

    @Test func tinyImagesHashToZeroWithQualityZero() {
        let result = PDQHasher().hash(Self.randomImage(width: 4, height: 100, seed: 1), dihedral: true)
        #expect(result.hash == .zero)
        #expect(result.quality == 0)
        #expect(result.dihedral == Array(repeating: .zero, count: 8))
    }

    @Test func dihedralOriginalIsTheHash() {
        let result = PDQHasher().hash(Self.randomImage(width: 90, height: 70, seed: 3), dihedral: true)
        #expect(result.dihedral.count == 8)
        #expect(result.dihedral[0] == result.hash)
        // Rotating twice by 180° is the identity; flips are their own inverses (on the DCT).
        #expect(Set(result.dihedral).count > 1)
    }
}

/// xorshift64*: repeatable test data.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}
