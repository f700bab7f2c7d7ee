import Foundation
import Testing
import TestSupport

@testable import HashCore

@Suite struct HexTests {
    @Test func roundTripsAndAcceptsUpperCase() throws {
        let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
        let hash = try PDQHash(hex: text.uppercased())
        #expect(hash.hex == text)
        let md5 = try Digest(kind: .md5, hex: "D41D8CD98F00B204E9800998ECF8427E")
        #expect(md5.hex == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(md5.value.bytes(count: 32)[16...].allSatisfy { $0 == 0 })
    }

    @Test func namesWhatIsWrong() {
        #expect(throws: HexError.wrongLength(text: "abc", expected: [64])) { try PDQHash(hex: "abc") }
        #expect(throws: HexError.invalidCharacter(text: "zz" + String(repeating: "0", count: 30), offset: 0)) {
            try Digest(kind: .md5, hex: "zz" + String(repeating: "0", count: 30))
        }
        #expect(HexError.wrongLength(text: "abc", expected: [64]).description.contains("3 hex digits"))
        #expect(DigestKind(hexLength: 64) == .sha256)
        #expect(DigestKind(hexLength: 40) == .sha1)
        #expect(DigestKind(hexLength: 32) == .md5)
        #expect(DigestKind(hexLength: 33) == nil)
    }

    @Test func bitNumberingFollowsTheReference() {
        var hash = PDQHash.zero
        hash.setBit(255)
        #expect(hash.hex.hasPrefix("8"))
        hash = .zero
        hash.setBit(0)
        #expect(hash.hex.hasSuffix("1"))
        hash.setBit(4)
        #expect(hash.hex.hasSuffix("11"))
        #expect(hash.distance(to: .zero) == 2)
    }

    @Test func bytes32OrdersAsBytes() {
        let low = Bytes32(bytes: [0x00, 0xFF])
        let high = Bytes32(bytes: [0x01])
        #expect(low < high)
        var stored = [UInt8](repeating: 0, count: 32)
        stored.withUnsafeMutableBytes { high.store(to: $0.baseAddress!) }
        #expect(stored[0] == 1)
        #expect(stored.withUnsafeBytes { Bytes32(loadingFrom: $0.baseAddress!) } == high)
    }
}

@Suite struct DigestTests {
    @Test func knownVectors() {
        let digester = Digester()
        let empty = [UInt8]().withUnsafeBytes { digester.digests(of: $0) }
        #expect(empty.sha256.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(empty.sha1.hex == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(empty.md5.hex == "d41d8cd98f00b204e9800998ecf8427e")
        let abc = Array("abc".utf8).withUnsafeBytes { digester.digests(of: $0) }
        #expect(abc.sha256.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(abc.sha1.hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(abc.md5.hex == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test func chunkedUpdatesEqualOneUpdate() {
        let bytes = (0..<(300 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let digester = Digester()
        let whole = bytes.withUnsafeBytes { digester.digests(of: $0) }
        digester.reset()
        bytes.withUnsafeBytes { raw in
            var offset = 0
            for size in [1, 100, 70_000, 5] + Array(repeating: 65_536, count: 10) where offset < raw.count {
                let end = min(raw.count, offset + size)
                digester.update(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                offset = end
            }
            digester.update(UnsafeRawBufferPointer(rebasing: raw[offset...]))
        }
        #expect(digester.finish() == whole)
    }
}

@Suite struct BatchTests {
    @Test func walksDirectoriesInNameOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-walk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        for path in ["b/2.jpg", "b/10.jpg", "a.jpg", "c/d/e.png", "B.jpg"] {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data([1]).write(to: url)
        }
        var lines = ["x.jpg", "", "y.jpg"]
        let walked = Array(PathWalker(arguments: [directory.path, "-", "missing.jpg"], standardInput: {
            lines.isEmpty ? nil : lines.removeFirst()
        }))
        let root = directory.path + "/"
        #expect(walked == [root + "B.jpg", root + "a.jpg", root + "b/10.jpg", root + "b/2.jpg", root + "c/d/e.png",
                           "x.jpg", "y.jpg", "missing.jpg"])
    }

    @Test func parallelMapKeepsInputOrder() {
        let inputs = Array(0..<500)
        var seen: [Int] = []
        OrderedParallelMap<Int, Int>(jobs: 4, window: 16).run(
            inputs,
            makeWorker: { SeededGenerator(seed: 1) },
            transform: { generator, value in
                if generator.next() % 7 == 0 { usleep(200) }
                return value * 2
            },
            emit: { input, output in
                #expect(output == input * 2)
                seen.append(input)
            })
        #expect(seen == inputs)
    }
}

@Suite struct EncoderTests {
    @Test func losslessFormatsRoundTrip() throws {
        let image = PDQStageTests.randomImage(width: 37, height: 23, seed: 5)
        #expect(try ImageDecoder().decode(ImageEncoder.png(image)).image == image)
        #expect(try ImageDecoder().decode(ImageEncoder.png(image, interlaced: true)).image == image)
        #expect(try ImageDecoder().decode(ImageEncoder.webp(image, lossless: true)).image == image)
    }

    @Test func jpegRoundTripsApproximately() throws {
        let pixels = (0..<(64 * 48)).flatMap { index -> [UInt8] in
            let x = index % 64, y = index / 64
            return [UInt8(x * 4), UInt8(y * 5), UInt8((x + y) * 2)]
        }
        let image = RGBImage(width: 64, height: 48, pixels: pixels)
        let decoded = try ImageDecoder().decode(ImageEncoder.jpeg(image, options: .init(quality: 95))).image
        #expect(decoded.width == 64 && decoded.height == 48)
        let error = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / image.pixels.count
        #expect(error <= 2)
    }

    @Test func badInputIsATypedError() {
        #expect(throws: ImageEncodeError.self) { try ImageEncoder.jpeg(samples: [1, 2], width: 5, height: 5, components: 3, options: .init()) }
        #expect(throws: ImageEncodeError.self) { try ImageEncoder.jpeg(RGBImage(width: 1, height: 1, pixels: [0, 0, 0]), options: .init(quality: 0)) }
    }

    @Test func adobeCMYKConvertsAsPillowDoes() {
        // Stored (inverted) CMYK: 255 means no ink. No ink at all is white; full K is black.
        let cmyk: [UInt8] = [255, 255, 255, 255, 255, 255, 255, 0, 0, 255, 255, 255]
        var rgb = [UInt8](repeating: 0, count: 9)
        cmyk.withUnsafeBufferPointer { c in
            rgb.withUnsafeMutableBufferPointer { JPEGDecoder.convertAdobeCMYKToRGB(c, into: $0) }
        }
        #expect(rgb == [255, 255, 255, 0, 0, 0, 0, 255, 255])
    }

    @Test func fastScalingKeepsAtLeast128PixelsASide() {
        #expect(JPEGDecoder.fastScaleDenominator(width: 1600, height: 1004) == 4)
        #expect(JPEGDecoder.fastScaleDenominator(width: 4032, height: 3024) == 8)
        #expect(JPEGDecoder.fastScaleDenominator(width: 320, height: 240) == 1)
        #expect(JPEGDecoder.fastScaleDenominator(width: 256, height: 256) == 2)
    }
}

@Suite struct BufferedFileTests {
    /// Bytes 0, 1, 2, … of `count`, for checking what reached a file.
    static func pattern(_ count: Int, from start: Int = 0) -> [UInt8] {
        (start..<(start + count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    @Test(arguments: [false, true]) func writesEverythingInOrder(writeBehind: Bool) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-writer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try BufferedFileWriter(path: path, bufferSize: 4096, writeBehind: writeBehind)
        var expected: [UInt8] = []
        // Small writes that fill buffers, values, and writes larger than the buffer (written directly).
        for size in [1, 100, 4000, 5000, 3, 20_000, 4096, 7, 9000] {
            let bytes = Self.pattern(size, from: expected.count)
            try writer.write(bytes)
            expected += bytes
            try writer.write(value: UInt32(size).littleEndian)
            expected += withUnsafeBytes(of: UInt32(size).littleEndian, Array.init)
        }
        #expect(writer.size == expected.count)
        try writer.close()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected)
    }

    @Test func aFailedWriteBehindIsReportedByClose() throws {
        // /dev/full refuses every write with ENOSPC.
        let writer = try BufferedFileWriter(path: "/dev/full", bufferSize: 4096, writeBehind: true, mustNotExist: false)
        var failure: FileIOError?
        do {
            for _ in 0..<4 { try writer.write(Self.pattern(3000)) }
            try writer.close()
        } catch {
            failure = error
        }
        #expect(failure?.errno == .noSpace)
        #expect(failure?.path == "/dev/full")
    }

    /// A reader started at an offset reads the rest of the file, through a buffer sized to what
    /// is left, and grows it when one read asks for more; past the end it reads nothing.
    @Test func readerStartsAtAnOffset() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-reader-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = Self.pattern(10_000)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for offset in [0, 1, 4095, 6000, 9999] {
            let reader = try BufferedFileReader(path: path, bufferSize: 1 << 20, startingAt: offset)
            let rest = try #require(try reader.read(10_000 - offset))
            #expect(Array(rest) == Array(bytes[offset...]), "offset \(offset)")
            #expect(try reader.read(1) == nil)
        }
        #expect(try BufferedFileReader(path: path, startingAt: 10_000).read(1) == nil)
        #expect(try BufferedFileReader(path: path, startingAt: 20_000).read(1) == nil)
    }

    @Test(arguments: [1, 3, 16]) func lookaheadWindowKeepsOrder(length: Int) {
        for count in [0, 1, length - 1, length, length + 1, 5 * length + 2] {
            var window = LookaheadWindow<Int>(length: length)
            var out: [Int] = []
            for value in 0..<count {
                if let due = window.push(value) { out.append(due) }
                #expect(out.count == max(0, value + 1 - length))
            }
            while let due = window.pop() { out.append(due) }
            #expect(out == Array(0..<count))
        }
    }
}
