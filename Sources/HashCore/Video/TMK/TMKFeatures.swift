import Foundation

/// Meta's TMK+PDQF video hash (facebook/ThreatExchange `tmk/`, "Temporal Match Kernel" over PDQ
/// float features), computed as `tmk/cpp/algo/tmkfv.cpp` computes it: every frame of the video
/// resampled to 64×64 at 15 frames a second (`TMKFrameSource`) gives its PDQF (the 16×16 DCT of
/// its luma, unthresholded); the hash is their mean (level 1) and, for each of 4 periods and 32
/// Fourier coefficients, the cosine and sine weighted sums of the L2-normalised features (level
/// 2). docs/VIDEO.md has the rules; the `.tmk` file is `TMKFile`.
public enum TMK {
    /// Frames a second the video is resampled to.
    public static let framesPerSecond = 15
    /// Poullot's periods, in frames at 15 frames a second.
    public static let periods: [Int32] = [2731, 4391, 9767, 14653]
    /// The Fourier coefficients a_0…a_31 (β = 32), as stored in every `.tmk` file: float32 bit patterns.
    public static let fourierCoefficients: [Float] = [
        0x3d91_01c9, 0x3e0e_b914, 0x3e08_1638, 0x3dfb_6c9a, 0x3de1_0813, 0x3dc3_2a95, 0x3da4_0ac5, 0x3d85_a68b,
        0x3d53_23d0, 0x3d21_bb2f, 0x3cf0_550a, 0x3cad_4138, 0x3c72_7068, 0x3c24_ae22, 0x3bd9_45d9, 0x3b8b_3f26,
        0x3b2d_754a, 0x3ad2_1203, 0x3a77_6ee4, 0x3a0d_c745, 0x399e_2485, 0x392b_c1c5, 0x38b5_b56f, 0x383b_5422,
        0x37bc_43db, 0x3738_84f8, 0x36b0_6fe5, 0x3624_a839, 0x3596_07d3, 0x3505_8583, 0x3468_369b, 0x33c5_5f58,
    ].map { Float(bitPattern: UInt32($0)) }
    /// Floats in a frame feature (PDQF: 16×16 DCT coefficients).
    public static let featureDimension = 256
    /// Bytes of one resampled frame: 64×64 RGB.
    public static let frameBytes = 64 * 64 * 3

    /// Meta's suggested thresholds (`tmk_default_thresholds.h`).
    public static let level1Threshold: Float = 0.7
    public static let level2Threshold: Float = 0.7
}

/// The PDQ float feature of one 64×64 frame: single-precision luma, copied as it is (a 64×64
/// frame needs no blur), then the 16×16 DCT, unthresholded. Reuses its buffers.
final class PDQFloatFeature {
    private let luma = UnsafeMutablePointer<Float>.allocate(capacity: 64 * 64)
    private let temporary = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 64)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: TMK.featureDimension)

    deinit {
        luma.deallocate()
        temporary.deallocate()
        output.deallocate()
    }

    /// The feature of `rgb` (64 rows of 192 bytes), in `output`.
    func compute(rgb: UnsafePointer<UInt8>) {
        PDQ.frameLuma(rgb: rgb, rows: 64, columns: 64, rowStride: 192, into: luma)
        PDQ.dct64To16(luma, temporary: temporary, into: output)
    }
}

/// TMK's feature vectors: a video's pure average and its cosine and sine features, built one
/// frame at a time (`add`) and finished once (`finish`), as tmkfv.cpp builds them.
public struct TMKFeatures: Sendable, Equatable {
    /// Frames taken in (after resampling to 15 a second).
    public private(set) var frameCount: Int32 = 0
    /// The mean of the frame features (not normalised).
    public private(set) var pureAverage: [Float]
    /// [period][coefficient][dimension], dimension fastest: `cos[(i · 32 + j) · 256 + k]`.
    public private(set) var cosines: [Float]
    public private(set) var sines: [Float]
    private var finished = false

    static let periodCount = TMK.periods.count
    static let coefficientCount = TMK.fourierCoefficients.count
    static let vectorCount = periodCount * coefficientCount * TMK.featureDimension

    public init() {
        pureAverage = [Float](repeating: 0, count: TMK.featureDimension)
        cosines = [Float](repeating: 0, count: Self.vectorCount)
        sines = [Float](repeating: 0, count: Self.vectorCount)
    }

    /// Features read from a file (`TMKFile`).
    init(frameCount: Int32, pureAverage: [Float], cosines: [Float], sines: [Float]) {
        self.frameCount = frameCount
        self.pureAverage = pureAverage
        self.cosines = cosines
        self.sines = sines
        finished = true
    }

    /// Takes in frame number `frameCount` (0-based, at 15 a second) with feature `feature`.
    @_optimize(speed)
    mutating func add(_ feature: UnsafePointer<Float>) {
        precondition(!finished, "a finished TMK takes no more frames")
        let dimension = TMK.featureDimension
        for k in 0..<dimension { pureAverage[k] += feature[k] }
        var normalised = [Float](repeating: 0, count: dimension)
        let norm = Self.l2Norm(feature, count: dimension)
        for k in 0..<dimension { normalised[k] = norm > 0 ? feature[k] / norm : feature[k] }
        let t = Double(frameCount)
        cosines.withUnsafeMutableBufferPointer { cosines in
            sines.withUnsafeMutableBufferPointer { sines in
                for (i, period) in TMK.periods.enumerated() {
                    let base = i * Self.coefficientCount * dimension
                    // Coefficient 0: cos 0 = 1, a float sum; its sine stays 0.
                    for k in 0..<dimension { cosines[base + k] += normalised[k] }
                    for j in 1..<Self.coefficientCount {
                        let argument = ((2.0 * Double.pi) * Double(j)) * t / Double(period)
                        let c = cos(argument)
                        let s = sin(argument)
                        let offset = base + j * dimension
                        // A float plus a float times a double: the product and the sum in double,
                        // rounded to float once a frame (as C++'s `float += float * double`).
                        for k in 0..<dimension {
                            let g = Double(normalised[k])
                            cosines[offset + k] = Float(Double(cosines[offset + k]) + g * c)
                            sines[offset + k] = Float(Double(sines[offset + k]) + g * s)
                        }
                    }
                }
            }
        }
        frameCount += 1
    }

    /// The mean of the features; each cosine and sine vector L2-normalised and weighted by
    /// √a_j. Nothing to do for a video of no frames.
    @_optimize(speed)
    public mutating func finish() {
        guard !finished else { return }
        finished = true
        guard frameCount > 0 else { return }
        let count = Float(frameCount)
        for k in 0..<TMK.featureDimension { pureAverage[k] = pureAverage[k] / count }
        let dimension = TMK.featureDimension
        for vectors in [\TMKFeatures.cosines, \TMKFeatures.sines] {
            var values = self[keyPath: vectors]
            values.withUnsafeMutableBufferPointer { values in
                for i in 0..<Self.periodCount {
                    for j in 0..<Self.coefficientCount {
                        let vector = values.baseAddress! + (i * Self.coefficientCount + j) * dimension
                        let norm = Self.l2Norm(vector, count: dimension)
                        let weight = TMK.fourierCoefficients[j].squareRoot()
                        for k in 0..<dimension {
                            if norm > 0 { vector[k] = vector[k] / norm }
                            vector[k] = vector[k] * weight
                        }
                    }
                }
            }
            self[keyPath: vectors] = values
        }
    }

    /// √(Σ x²), summed in float in order.
    @_optimize(speed)
    static func l2Norm(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for k in 0..<count { sum += values[k] * values[k] }
        return sum.squareRoot()
    }

    /// Σ a·b in float, in order.
    @_optimize(speed)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for k in 0..<count { sum += a[k] * b[k] }
        return sum
    }

    /// Level 1: the cosine similarity of the pure averages (0 when either is all zeros).
    public func level1Score(_ other: TMKFeatures) -> Float {
        pureAverage.withUnsafeBufferPointer { a in
            other.pureAverage.withUnsafeBufferPointer { b in
                let (normA, normB) = (Self.l2Norm(a.baseAddress!, count: a.count), Self.l2Norm(b.baseAddress!, count: b.count))
                guard normA > 0, normB > 0 else { return 0 }
                return Self.dot(a.baseAddress!, b.baseAddress!, count: a.count) / (normA * normB)
            }
        }
    }

    /// Level 2: the best time-shifted match of the cosine and sine features over every offset of
    /// every period, normalised so that a video scores 1 against itself (`self` is the needle).
    public func level2Score(_ other: TMKFeatures) -> Float {
        other.cosines.withUnsafeBufferPointer { cosB in
            other.sines.withUnsafeBufferPointer { sinB in level2Score(cosines: cosB.baseAddress!, sines: sinB.baseAddress!) }
        }
    }

    /// Level 2 against features held elsewhere (a database's, in place).
    @_optimize(speed)
    func level2Score(cosines cosB: UnsafePointer<Float>, sines sinB: UnsafePointer<Float>) -> Float {
        let dimension = TMK.featureDimension
        let m = Self.coefficientCount
        var products = [Float](repeating: 0, count: 4 * m)  // cc, ss, sc, cs for one period
        var best: Float = -.infinity
        for (i, period) in TMK.periods.enumerated() {
            cosines.withUnsafeBufferPointer { cosA in
                sines.withUnsafeBufferPointer { sinA in
                    for j in 0..<m {
                        let offset = (i * m + j) * dimension
                        products[j] = Self.dot(cosA.baseAddress! + offset, cosB + offset, count: dimension)
                        products[m + j] = Self.dot(sinA.baseAddress! + offset, sinB + offset, count: dimension)
                        products[2 * m + j] = Self.dot(sinA.baseAddress! + offset, cosB + offset, count: dimension)
                        products[3 * m + j] = Self.dot(cosA.baseAddress! + offset, sinB + offset, count: dimension)
                    }
                }
            }
            let periodValue = Float(period)
            for shift in 0..<Int(period) {
                let delta = Float(2.0 * Double.pi * Double(Float(shift)) / Double(periodValue))
                let beta = Float(sin(Double(delta)))
                var alpha = Float(sin(Double(delta / 2)))
                alpha = 2 * alpha * alpha
                var c: Float = 1
                var s: Float = 0
                var kernel = products[0]
                for j in 1..<m {
                    // The incremental rotation tmkfv.cpp uses (c ≈ cos jδ, s ≈ sin jδ), in float.
                    let nextC = alpha * c + beta * s
                    let nextS = alpha * s - beta * c
                    c = c - nextC
                    s = s - nextS
                    kernel = kernel + c * (products[j] + products[m + j])
                    kernel = kernel + s * (products[2 * m + j] - products[3 * m + j])
                }
                if kernel > best { best = kernel }
            }
        }
        var normalisation: Float = TMK.fourierCoefficients[0]
        for j in 1..<m { normalisation = Float(Double(normalisation) + 2.0 * Double(TMK.fourierCoefficients[j])) }
        return best / normalisation
    }
}
