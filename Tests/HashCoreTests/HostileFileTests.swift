import Foundation
import Testing
import TestSupport
import CShims

#if canImport(Glibc)
import Glibc
#endif

@testable import HashCore

/// What a reported site controls in a hotline's scan (file names, file types, bytes) and what
/// an uploader controls in a decode.
@Suite struct HostileFileTests {
    // MARK: Escaping

    /// Each hostile name is one Swift Character that hides a special scalar (U+0600 before `<`,
    /// a combining mark after a quote, CR LF); escaping must see the scalars.
    static let hostileNames = ["\u{0600}<script>alert(1)</script>", "\"\u{0301}onmouseover=x", "a\r\nb,c", "tab\tback\\slash", "it's"]

    @Test func escapingSeesEveryScalarNotCharacters() {
        for name in Self.hostileNames {
            let html = TextEscaping.html(name)
            #expect(!html.unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) }, "\(html.debugDescription)")
            let tsv = TextEscaping.tsvField(name)
            #expect(!tsv.utf8.contains { $0 == 9 || $0 == 10 || $0 == 13 }, "\(tsv.debugDescription)")
            #expect(TextEscaping.tsvUnescape(Substring(tsv)) == name)
            let csv = TextEscaping.csvField(name)
            if name.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 44 || $0 == 34 }) {
                #expect(csv.hasPrefix("\"") && csv.hasSuffix("\""), "\(csv.debugDescription)")
            }
        }
        #expect(TextEscaping.csvField("say \"\u{0301}hi\"") == "\"say \"\"\u{0301}hi\"\"\"")
    }

    /// A scan report of files named by the site: no name opens a tag or breaks a CSV row.
    @Test func hostileFileNamesInScanReportsAreEscaped() throws {
        let directory = TemporaryDirectory()
        let image = try ImageEncoder.png(SyntheticImage.scene(width: 64, height: 64, seed: 3))
        for name in Self.hostileNames.map({ $0.replacingOccurrences(of: "/", with: "_") }) {
            try Data(image).write(to: URL(fileURLWithPath: directory.file(name + ".png")))
        }
        let result = try DuplicateScanner(options: ScanFolder.options()).scan([directory.path])
        #expect(result.records.count == Self.hostileNames.count)
        var html = ""
        ScanReport.write(result, format: .html) { html += $0 + "\n" }
        #expect(!html.contains("<script>") && !html.contains("\"\u{0301}onmouseover"))
        var csv = ""
        ScanReport.write(result, format: .csv) { csv += $0 + "\n" }
        // Every row but those of the quoted CR LF name has the header's column count.
        let rows = try readCSV(csv)
        #expect(rows.count == 1 + Self.hostileNames.count)
        #expect(rows.allSatisfy { $0.count == rows[0].count }, "\(rows.map(\.count))")
    }

    private func readCSV(_ text: String) throws -> [[String]] {
        let directory = TemporaryDirectory()
        let path = directory.file("report.csv")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try DelimitedReader(path: path, dialect: .csv)
        var rows: [[String]] = []
        while let record = try reader.next() { rows.append((0..<record.count).map { record.string($0) }) }
        return rows
    }

    // MARK: Scanned folders

    /// A FIFO, a link to /dev/zero and a name that is not UTF-8 in a reported folder: the scan
    /// ends, each special file is reported, and the odd name is hashed from its own bytes.
    @Test func specialFilesAndNonUTF8NamesInAScan() throws {
        let directory = TemporaryDirectory()
        let image = try ImageEncoder.png(SyntheticImage.scene(width: 96, height: 96, seed: 11))
        try Data(image).write(to: URL(fileURLWithPath: directory.file("plain.png")))
        #expect(mkfifo(directory.file("pipe"), 0o600) == 0)
        #expect(symlink("/dev/zero", directory.file("zero.png")) == 0)
        let odd = Array(directory.path.utf8) + Array("/odd-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
        let descriptor = (odd + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o600) } }
        #expect(descriptor >= 0)
        _ = image.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)

        let result = try DuplicateScanner(options: ScanFolder.options()).scan([directory.path])
        let byName = Dictionary(uniqueKeysWithValues: result.records.map { (($0.path as NSString).lastPathComponent, $0) })
        #expect(byName.count == 4, "\(byName.keys.sorted())")
        #expect(byName["pipe"]?.errorCode == "not_a_regular_file")
        #expect(byName["zero.png"]?.errorCode == "not_a_regular_file")
        let oddRecord = try #require(result.records.first { $0.path.contains("odd-") })
        #expect(oddRecord.errorCode == nil, "\(oddRecord.errorMessage ?? "")")
        #expect(oddRecord.pdq == byName["plain.png"]?.pdq && oddRecord.pdq != nil)
        #expect(oddRecord.digests == byName["plain.png"]?.digests)
        // Thumbnails re-read members through the same checks: the report is written.
        var html = ""
        ScanReport.write(result, format: .html, thumbnails: true) { html += $0 }
        #expect(html.contains("data:image/jpeg;base64,"))
        // The odd name keeps its bytes: two names differing only in invalid bytes stay two.
        #expect(FileName.string(fromBytes: [0x61, 0xFF]) != FileName.string(fromBytes: [0x61, 0xFE]))
        #expect(FileName.string(fromBytes: Array("plain é".utf8)) == "plain é")
    }

    @Test func thumbnailsRespectTheFileSizeLimit() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("big.png")
        try Data(try ImageEncoder.png(SyntheticImage.scene(width: 128, height: 128, seed: 5))).write(to: URL(fileURLWithPath: path))
        #expect(try Fingerprinter.contents(ofPath: path, limit: 1 << 20) != nil)
        #expect(try Fingerprinter.contents(ofPath: path, limit: 100) == nil)
        #expect(ScanReport.thumbnail(path, decoder: ImageDecoder(limits: DecodeLimits(maxFileBytes: 100))) == nil)
        #expect(ScanReport.thumbnail(path, decoder: ImageDecoder()) != nil)
        #expect(throws: FileReadError.notARegularFile(path: "/dev/zero")) { try Fingerprinter.contents(ofPath: "/dev/zero", limit: 100) }
    }

    // MARK: Decodes

    /// A JPEG cut in half with its end marker put back: libjpeg hits the marker in the middle
    /// of the entropy-coded data, warns, and fills the rest with grey. That is an error.
    @Test func aTruncatedJPEGWithItsEndMarkerIsRefused() throws {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.fixtures.appendingPathComponent("images/jpeg/baseline.jpg")))
        let half = Array(bytes[0..<(bytes.count / 2)]) + [0xFF, 0xD9]
        do {
            _ = try ImageDecoder().decode(half)
            Issue.record("a half JPEG decoded")
        } catch {
            #expect(error.code == "corrupt" || error.code == "truncated", "\(error)")
        }
        // Bytes between markers are not a corrupt picture: the same pixels come out.
        let scan = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        let padded = Array(bytes[..<scan]) + [0x00, 0x11, 0x22] + Array(bytes[scan...])
        #expect(try ImageDecoder().decode(padded).image == ImageDecoder().decode(bytes).image)
    }

    /// A thousand small zTXt chunks that each inflate to 256 KiB: libpng skips text chunks, so
    /// what it holds stays small (kept, they would add up to 250 MB inflated).
    @Test func aThousandTextChunksDoNotAccumulate() throws {
        let plain = try [UInt8](Data(contentsOf: TestPaths.fixtures.appendingPathComponent("images/png/rgb8.png")))
        let text = (0..<1_000).flatMap { _ in PNGChunk.make("zTXt", Array("Comment".utf8) + [0, 0] + PNGChunk.zlibZeros(256 << 10)) }
        let bomb = Array(plain[0..<33]) + text + Array(plain[33...])
        #expect(bomb.count < 4 << 20)
        var peak = 0
        let decoded = try bomb.withUnsafeBytes { try PNGDecoder.decode($0, limits: DecodeLimits(), libraryMemoryPeak: { peak = $0 }) }
        #expect(decoded.image == (try ImageDecoder().decode(plain)).image)
        #expect(peak > 0 && peak < 4 << 20, "libpng held \(peak) bytes")
        #expect(peak <= Int(hdb_png_memory_limit(DecodeLimits().maxMetadataBytes)))
    }
}
