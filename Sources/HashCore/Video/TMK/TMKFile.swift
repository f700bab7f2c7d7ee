import Foundation

/// The `.tmk` file Meta's TMK writes (`TMKFeatureVectors::writeToOutputStream`): a 32-byte
/// header (`TMK1`, `FVEC`, `PDQF`, then int32 frames a second, periods, coefficients, feature
/// dimension and frame count), the periods (int32), the Fourier coefficients, the pure average,
/// the cosine and the sine features (float32), all little-endian; 263,344 bytes for TMK+PDQF.
public enum TMKFile {
    public static let byteCount = 32 + 4 * 4 + 4 * 32 + 4 * 256 + 2 * 4 * 4 * 32 * 256
    static let magic = Array("TMK1FVECPDQF".utf8)

    /// Why bytes are not a TMK+PDQF file.
    public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { "not a TMK+PDQF .tmk file: \(reason)" }
    }

    /// Whether the file at `path` starts as a TMK+PDQF file does (its first 12 bytes).
    static func starts(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: magic.count)).map { [UInt8]($0) == magic } ?? false
    }

    public static func bytes(of features: TMKFeatures) -> [UInt8] {
        var bytes = LittleEndianBytes()
        bytes.raw(magic)
        for value in [Int32(TMK.framesPerSecond), Int32(TMK.periods.count), Int32(TMK.fourierCoefficients.count),
                      Int32(TMK.featureDimension), features.frameCount] {
            bytes.u32(UInt32(bitPattern: value))
        }
        for period in TMK.periods { bytes.u32(UInt32(bitPattern: period)) }
        var result = bytes.bytes
        result.reserveCapacity(byteCount)
        // Little-endian floats, as the platforms hashdb runs on hold them.
        for values in [TMK.fourierCoefficients, features.pureAverage, features.cosines, features.sines] {
            values.withUnsafeBytes { result.append(contentsOf: $0) }
        }
        return result
    }

    /// Reads a file's bytes; refuses anything but TMK+PDQF with 15 frames a second, Poullot's
    /// periods and coefficients, 256 dimensions, the exact size, and finite values.
    public static func features(from bytes: [UInt8]) throws(FormatError) -> TMKFeatures {
        guard bytes.count == byteCount else { throw FormatError(reason: "\(bytes.count) bytes (a TMK+PDQF file has \(byteCount))") }
        guard bytes.starts(with: magic) else { throw FormatError(reason: "it does not start with TMK1 FVEC PDQF") }
        func int32(_ offset: Int) -> Int32 {
            Int32(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
        func floats(_ offset: Int, _ count: Int) -> [Float] {
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { source in
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source.baseAddress! + offset, byteCount: count * 4)
                }
                initialized = count
            }
        }
        guard int32(12) == Int32(TMK.framesPerSecond), int32(16) == Int32(TMK.periods.count),
            int32(20) == Int32(TMK.fourierCoefficients.count), int32(24) == Int32(TMK.featureDimension)
        else { throw FormatError(reason: "frames a second, periods, coefficients or dimension are not TMK+PDQF's 15, 4, 32, 256") }
        let frameCount = int32(28)
        guard frameCount >= 0 else { throw FormatError(reason: "a negative frame count") }
        guard (0..<4).map({ int32(32 + 4 * $0) }) == TMK.periods else { throw FormatError(reason: "periods other than TMK's") }
        let coefficients = floats(48, 32)
        guard zip(coefficients, TMK.fourierCoefficients).allSatisfy({ abs($0 - $1) <= 1e-6 * max(abs($0), abs($1)) }) else {
            throw FormatError(reason: "Fourier coefficients other than TMK's")
        }
        let pure = floats(176, 256)
        let vectorCount = TMKFeatures.vectorCount
        let cosines = floats(1200, vectorCount)
        let sines = floats(1200 + 4 * vectorCount, vectorCount)
        guard pure.allSatisfy(\.isFinite), cosines.allSatisfy(\.isFinite), sines.allSatisfy(\.isFinite) else {
            throw FormatError(reason: "a value that is not a finite number")
        }
        return TMKFeatures(frameCount: frameCount, pureAverage: pure, cosines: cosines, sines: sines)
    }
}

extension TMKFeatures {
    /// What links list rows of a video that carry only its TMK (no digest, no frames): the
    /// SHA-256 of its `.tmk` bytes; its made-up id is `tmk:` and this value in hex.
    var linkKey: Bytes32 {
        let digest = SHA256Stream()
        TMKFile.bytes(of: self).withUnsafeBytes { digest.update($0) }
        return digest.finish()
    }

    /// Of several TMKs for one entry, the one kept: the most frames, then the smallest file by bytes.
    static func preferred(_ a: TMKFeatures, over b: TMKFeatures) -> Bool {
        if a.frameCount != b.frameCount { return a.frameCount > b.frameCount }
        return TMKFile.bytes(of: a).lexicographicallyPrecedes(TMKFile.bytes(of: b))
    }
}
