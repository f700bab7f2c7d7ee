import Foundation
import Testing
import TestSupport

@testable import HashCore

/// The project's own images (Fixtures/images, written by Fixtures/generate) against the hashes
/// Meta's reference computes for them (Fixtures/expected.tsv): every decoder case.
@Suite struct FixtureTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let fields: [String: String]
        subscript(_ name: String) -> String? { fields[name] }
        var testDescription: String { fields["path"] ?? "?" }
    }

    static let rows: [Row] = {
        let table = try? TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.tsv"))
        return (table?.rows ?? []).map(Row.init)
    }()

    @Test func everyDecoderCaseHasAFixture() {
        let paths = Set(Self.rows.compactMap { $0["path"] })
        #expect(paths.count >= 39, "Fixtures/expected.tsv is missing or short: \(paths.count) rows")
        for required in ["images/jpeg/progressive.jpg", "images/jpeg/cmyk.jpg", "images/jpeg/ycck.jpg",
                         "images/png/gray2.png", "images/png/gray16.png", "images/png/palette-trns.png",
                         "images/png/interlaced-rgba16.png", "images/webp/lossy-alpha.webp", "images/webp/lossless.webp"] {
            #expect(paths.contains(required), "\(required) has no expected hashes")
        }
    }

    @Test(arguments: rows)
    func matchesReference(_ row: Row) throws {
        let path = try #require(row["path"])
        let fingerprint = try Fingerprinter(dihedral: true).fingerprint(path: TestPaths.fixtures.appendingPathComponent(path).path)
        #expect(fingerprint.digests.sha256.hex == row["sha256"])
        #expect(fingerprint.digests.sha1.hex == row["sha1"])
        #expect(fingerprint.digests.md5.hex == row["md5"])
        let image = try fingerprint.image.get()
        #expect(String(image.width) == row["width"])
        #expect(String(image.height) == row["height"])
        #expect(image.pdq.hash.hex == row["pdq"])
        #expect(String(image.pdq.quality) == row["quality"])
        #expect(image.pdq.dihedral.map(\.hex).joined(separator: ",") == row["dihedral"])
        let folder = path.split(separator: "/")[1]
        #expect(image.format.rawValue == (folder == "other" ? "png" : String(folder)), "format is read from the bytes")
    }
}

/// Every file under Fixtures/bad must be refused with the error Fixtures/bad/expected.tsv names.
@Suite struct BadInputTests {
    static let rows: [[String: String]] = {
        let table = try? TSVTable(contentsOf: TestPaths.fixtures.appendingPathComponent("bad/expected.tsv"))
        return table?.rows ?? []
    }()

    @Test func badFixturesArePresent() {
        #expect(Self.rows.count >= 16)
    }

    @Test(arguments: rows.map { $0["file"] ?? "" })
    func isRefusedWithTypedError(_ file: String) throws {
        let expected = try #require(Self.rows.first { $0["file"] == file }?["error_code"])
        let path = TestPaths.fixtures.appendingPathComponent("bad").appendingPathComponent(file).path
        let fingerprint = try Fingerprinter().fingerprint(path: path)
        guard case .failure(let error) = fingerprint.image else {
            Issue.record("\(file) decoded, but should fail with \(expected)")
            return
        }
        #expect(error.code == expected, "\(file): \(error)")
        #expect(!error.description.isEmpty)
    }

    @Test func bombsAreRefusedBeforeDecoding() throws {
        // A 100,000 × 100,000 PNG would need 30 GB of pixels: the refusal must come from the header.
        let path = TestPaths.fixtures.appendingPathComponent("bad/bomb-100000x100000.png").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count < 200)
        #expect(throws: ImageDecodeError.tooManyPixels(width: 100_000, height: 100_000, limit: 100_000_000)) {
            try ImageDecoder().decode(bytes)
        }
    }

    @Test func limitsAreConfigurable() throws {
        let path = TestPaths.fixtures.appendingPathComponent("images/jpeg/baseline.jpg").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(throws: ImageDecodeError.tooManyPixels(width: 320, height: 240, limit: 1000)) {
            try ImageDecoder(limits: DecodeLimits(maxPixels: 1000)).decode(bytes)
        }
        #expect(throws: ImageDecodeError.dimensionTooLarge(width: 320, height: 240, limit: 300)) {
            try ImageDecoder(limits: DecodeLimits(maxDimension: 300)).decode(bytes)
        }
        #expect(throws: ImageDecodeError.fileTooLarge(bytes: bytes.count, limit: 100)) {
            try ImageDecoder(limits: DecodeLimits(maxFileBytes: 100)).decode(bytes)
        }
    }

    /// Metadata that would inflate to 64 MiB (an ICC profile, a compressed text chunk) is never
    /// inflated: the image decodes to rgb8.png's pixels.
    @Test func metadataBombsDecodeToThePixelsAlone() throws {
        let plain = try Fingerprinter().fingerprint(path: TestPaths.fixtures.appendingPathComponent("images/png/rgb8.png").path)
        for name in ["icc-64mib.png", "ztxt-64mib.png"] {
            let path = TestPaths.fixtures.appendingPathComponent("hostile/\(name)").path
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count < 1 << 20)
            let hostile = try Fingerprinter().fingerprint(path: path)
            #expect(hostile.imageFingerprint?.pdq.hash == plain.imageFingerprint?.pdq.hash, "\(name)")
            // The metadata limit caps what libpng may inflate for any one chunk.
            let tight = try Fingerprinter(decoder: ImageDecoder(limits: DecodeLimits(maxMetadataBytes: 1024))).fingerprint(path: path)
            #expect(tight.imageFingerprint != nil || tight.image.isLimitRefusal, "\(name)")
        }
    }

    /// Each scan of a progressive JPEG may walk the whole image: the count is bounded.
    @Test func progressiveScansAreCounted() throws {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.fixtures.appendingPathComponent("images/jpeg/progressive.jpg")))
        #expect(throws: ImageDecodeError.self) {
            try ImageDecoder(limits: DecodeLimits(maxJPEGScans: 2)).decode(bytes)
        }
        do {
            _ = try ImageDecoder(limits: DecodeLimits(maxJPEGScans: 2)).decode(bytes)
        } catch {
            #expect(error.code == "limit_exceeded", "\(error)")
        }
        #expect(throws: Never.self) { try ImageDecoder().decode(bytes) }
    }

    /// A scan bomb: the last scan of a progressive JPEG repeated 5,000 times. Each scan may
    /// walk the whole image; libjpeg only warns that a repeated refinement scan is an
    /// inconsistent progression, and that warning is an error here (the coefficients it would
    /// refine twice are wrong), so the file is refused at the first repeat, before the scan
    /// limit (tested above) is reached.
    @Test func thousandsOfRepeatedScansAreRefused() throws {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.fixtures.appendingPathComponent("images/jpeg/progressive.jpg")))
        let lastScan = try #require((0..<(bytes.count - 1)).last { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        let end = try #require((lastScan..<(bytes.count - 1)).last { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xD9 })
        let scan = bytes[lastScan..<end]
        var bomb = Array(bytes[..<end])
        for _ in 0..<5_000 { bomb += scan }
        bomb += [0xFF, 0xD9]
        for limits in [DecodeLimits(), DecodeLimits(maxJPEGScans: 6_000)] {
            do {
                _ = try ImageDecoder(limits: limits).decode(bomb)
                Issue.record("a JPEG with 5,000 repeated scans decoded")
            } catch {
                #expect(error.code == "corrupt", "\(error)")
                #expect("\(error)".contains("Inconsistent progression"), "\(error)")
            }
        }
    }

    @Test func fileOverTheDecodeLimitStillGetsItsDigests() throws {
        let path = TestPaths.fixtures.appendingPathComponent("images/png/rgb8.png").path
        let full = try Fingerprinter().fingerprint(path: path)
        let limited = try Fingerprinter(decoder: ImageDecoder(limits: DecodeLimits(maxFileBytes: 1000))).fingerprint(path: path)
        #expect(limited.digests == full.digests)
        #expect(limited.byteCount == full.byteCount)
        #expect(throws: ImageDecodeError.fileTooLarge(bytes: full.byteCount, limit: 1000)) { try limited.image.get() }
    }

    @Test func unreadablePathsAreTypedErrors() {
        #expect(throws: FileReadError.self) { try Fingerprinter().fingerprint(path: "/nonexistent/image.jpg") }
        #expect(throws: FileReadError.notARegularFile(path: TestPaths.fixtures.path)) {
            try Fingerprinter().fingerprint(path: TestPaths.fixtures.path)
        }
    }

    @Test func emptyAndUnknownBytes() {
        #expect(throws: ImageDecodeError.empty) { try ImageDecoder().decode([UInt8]()) }
        #expect(throws: ImageDecodeError.unsupportedFormat("BMP")) { try ImageDecoder().decode(Array("BM\u{0}\u{0}".utf8)) }
        // Signatures alone, with nothing after them, are truncated images, not crashes.
        for signature: [UInt8] in [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBP".utf8)] {
            #expect(throws: ImageDecodeError.self) { try ImageDecoder().decode(signature) }
        }
    }
}

extension Result where Failure == ImageDecodeError {
    var isLimitRefusal: Bool {
        if case .failure(let error) = self { return error.isLimit }
        return false
    }
}
