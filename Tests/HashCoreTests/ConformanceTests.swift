import Foundation
import Testing
import TestSupport

@testable import HashCore

/// Every image of Meta's conformance set (../shared/conformance/pdq) must hash exactly as the
/// reference does: PDQ, quality, the seven other dihedral hashes, size and digests.
@Suite struct ConformanceTests {
    /// One row of expected.tsv, shown in test output by its file name.
    struct Row: Sendable, CustomTestStringConvertible {
        let fields: [String: String]
        subscript(_ name: String) -> String? { fields[name] }
        var testDescription: String { fields["file"] ?? "?" }
    }

    static let rows: [Row] = {
        guard TestPaths.conformanceAvailable else { return [] }
        let table = try? TSVTable(contentsOf: TestPaths.conformance.appendingPathComponent("expected.tsv"))
        return (table?.rows ?? []).map(Row.init)
    }()

    @Test func conformanceSetIsPresentInCI() {
        if TestPaths.isCI {
            #expect(TestPaths.conformanceAvailable, "CI is set but \(TestPaths.conformance.path)/expected.tsv is missing")
            #expect(Self.rows.count == 55, "expected 55 conformance rows, read \(Self.rows.count)")
        }
    }

    @Test(.enabled(if: TestPaths.conformanceAvailable, "conformance set not found beside the checkout"),
          arguments: rows)
    func matchesReference(_ row: Row) throws {
        let file = try #require(row["file"])
        let path = TestPaths.conformance.appendingPathComponent("images").appendingPathComponent(file).path
        let fingerprint = try Fingerprinter(dihedral: true).fingerprint(path: path)
        #expect(fingerprint.digests.sha256.hex == row["sha256"], "\(file) sha256")
        #expect(fingerprint.digests.md5.hex == row["md5"], "\(file) md5")
        let image = try fingerprint.image.get()
        #expect(String(image.width) == row["width"] && String(image.height) == row["height"], "\(file) size")
        #expect(image.pdq.hash.hex == row["pdq"], "\(file) pdq")
        #expect(String(image.pdq.quality) == row["quality"], "\(file) quality")
        for transform in DihedralTransform.allCases.dropFirst() {
            #expect(image.pdq.dihedral[transform.rawValue].hex == row[transform.name], "\(file) \(transform.name)")
        }
    }
}
