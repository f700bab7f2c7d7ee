import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import HashCore

@Suite struct QualityBenchmarkTests {
    /// On a tiny generated set, the report's counts are what direct queries of the database
    /// give, and the charts are well-formed SVG.
    @Test func countsEqualDirectQueriesAndChartsAreValid() throws {
        let directory = TemporaryDirectory()
        var paths: [String] = []
        for seed in 0..<4 {
            let path = directory.file("scene-\(seed).png")
            try Data(ImageEncoder.png(SyntheticImage.scene(width: 160, height: 120, seed: UInt64(500 + seed)))).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        var options = QualityBenchmark.Options()
        options.variants = [.jpeg50, .resize50, .flip, .crop5, .metadata]
        let report = try QualityBenchmark(options: options).run(originals: paths, workDirectory: directory.path)
        #expect(report.listedOriginals == 2 && report.heldOutOriginals == 2)

        // Direct queries: the same variants, matched through the database hashdb query uses.
        let database = try HashDatabase.open(path: directory.path + "/bench-quality.hdb")
        let fingerprinter = Fingerprinter(dihedral: true)
        for dihedral in [false, true] {
            for variant in options.variants {
                var recalled = 0
                var falsePositives = 0
                for path in paths.sorted() {
                    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                    let decoded = try ImageDecoder().decode(bytes)
                    let query = QueryHashes(fingerprinter.fingerprint(bytes: try variant.apply(to: decoded.image, source: bytes, sourceFormat: decoded.format)))
                    let ids = try database.match(query, options: MatchOptions(threshold: 31, dihedral: dihedral, minQuality: 0)).matches.flatMap(\.entry.ids)
                    if ids.contains(path) { recalled += 1 }
                    if ids.contains(where: { $0 != path }) { falsePositives += 1 }
                }
                #expect(report.recalled(variant, threshold: 31, dihedral: dihedral) == recalled, "\(variant) dihedral \(dihedral)")
                #expect(report.falsePositives(threshold: 31, dihedral: dihedral, variant: .some(variant)) == falsePositives, "\(variant) dihedral \(dihedral)")
            }
        }
        // Metadata-only edits change the bytes, never the hash; a flip needs the dihedral search.
        #expect(report.distances(.metadata).allSatisfy { $0 == 0 })
        #expect(report.recalled(.flip, threshold: 31, dihedral: true) == 2)

        for svg in [report.svg(), report.svg(dihedral: true)] {
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "the chart is well-formed XML")
            #expect(svg.components(separatedBy: "<polyline").count - 1 == options.variants.count + 1, "a line per variant and the false positives")
        }
        let lines = report.csv().split(separator: "\n")
        #expect(lines.count == 1 + options.variants.count * 2 * 65)
        #expect(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) is [String: Any])
        #expect(report.table().contains("recommended threshold"))
    }
}
