// PDQ near-match search on a data set made by ../shared/tools/pdq_dataset.py (hashes.bin,
// queries.bin, truth.tsv): builds DIR/near-<tables>.hdb once, then times single-threaded
// radius-31 queries, plain and with 8 variants (dihedral), and checks the answers against the
// planted neighbours: every one at distance ≤ 31 found, none beyond.
// Usage: near-search DIR [--tables N|auto] [--seconds S] [--scan]
import Foundation
import HashCore

let arguments = Array(CommandLine.arguments.dropFirst())
guard let directory = arguments.first else {
    print("usage: near-search DIR [--tables N|auto] [--seconds S] [--scan]")
    exit(64)
}
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
let tables = option("--tables").flatMap(Int.init)
let seconds = option("--seconds").flatMap(Double.init) ?? 20
let scan = arguments.contains("--scan")

func loadHashes(_ name: String) -> [PDQHash] {
    guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else {
        print("missing \(directory)/\(name): run pdq_dataset.py first")
        exit(1)
    }
    return data.withUnsafeBytes { raw in (0..<(raw.count / 32)).map { PDQHash(bits: Bytes32(loadingFrom: raw.baseAddress! + $0 * 32)) } }
}

let databasePath = "\(directory)/near-\(tables.map(String.init) ?? "auto").hdb"
if !FileManager.default.fileExists(atPath: databasePath) {
    let hashes = loadHashes("hashes.bin")
    let builder = try DatabaseBuilder(destination: databasePath, options: .init(nearIndexTables: tables))
    for (row, hash) in hashes.enumerated() {
        try builder.add(ListRow(id: String(row), pdq: hash, quality: 100))
    }
    var stageStart = ContinuousClock.now
    var stageName = ""
    _ = try builder.write { progress in
        guard progress.stage != stageName else { return }
        if !stageName.isEmpty { print("  \(stageName): \(ContinuousClock.now - stageStart)") }
        stageStart = ContinuousClock.now
        stageName = progress.stage
    }
    print("  \(stageName): \(ContinuousClock.now - stageStart)")
}
let database = try HashDatabase.open(path: databasePath)
if arguments.contains("--warm") {
    let start = ContinuousClock.now
    database.warmNearIndex()
    print("warmed the near index in \(ContinuousClock.now - start)")
    if let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) {
        let lines = smaps.split(separator: "\n")
        if let index = lines.firstIndex(where: { $0.hasSuffix(databasePath) }) {
            for line in lines[index...].prefix(25) where line.contains("PmdMapped") || line.hasPrefix("Rss") { print("  smaps: \(line)") }
        }
    }
}
let queries = loadHashes("queries.bin")
var truth: [Int: [(row: Int, distance: Int)]] = [:]
if let text = try? String(contentsOfFile: "\(directory)/truth.tsv", encoding: .utf8) {
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: "\t").compactMap { Int($0) }
        if fields.count == 3 { truth[fields[0], default: []].append((fields[1], fields[2])) }
    }
}
// Entries are numbered in hash order, not row order: map ids back to rows.
@MainActor func row(ofEntry entry: Int) -> Int { Int(try! database.entry(entry).id)! }

@MainActor func run(label: String, variantsFor: (PDQHash) -> [(PDQHash, DihedralTransform)]) -> Double {
    var done = 0
    var found = 0
    var wanted = 0
    var wrong = 0
    let start = ContinuousClock.now
    var elapsed = 0.0
    let scratch = NearIndex.Scratch()
    while elapsed < seconds {
        for (index, query) in queries.enumerated() {
            let hits = scan
                ? database.nearHitsByScan(variantsFor(query), threshold: 31, minQuality: 0)
                : database.nearHits(variantsFor(query), threshold: 31, minQuality: 0, scratch: scratch)
            if done < queries.count {
                let rows = Set(hits.map { row(ofEntry: $0.entry) })
                let planted = truth[index] ?? []
                let near = Set(planted.filter { $0.distance <= 31 }.map(\.row))
                let far = Set(planted.filter { $0.distance > 31 }.map(\.row))
                found += rows.intersection(near).count
                wanted += near.count
                wrong += rows.intersection(far).count
            }
            done += 1
            let now = ContinuousClock.now - start
            elapsed = Double(now.components.seconds) + Double(now.components.attoseconds) / 1e18
            if elapsed >= seconds { break }
        }
    }
    let qps = Double(done) / elapsed
    print("RESULT \(label) n=\(database.pdqCount) index=\(database.hasNearIndex) queries=\(done) qps=\(String(format: "%.1f", qps)) recall=\(found)/\(wanted) beyond31_returned=\(wrong)")
    return qps
}

let plain = run(label: scan ? "scan" : "plain") { [($0, .original)] }
// Dihedral: the query and 7 other hashes (a data set of hashes has no pixels to rotate; the
// cost of a search depends only on how many hashes it probes).
var generator = SystemRandomNumberGenerator()
let others = (0..<7).map { _ in PDQHash(bits: Bytes32(w0: generator.next(), w1: generator.next(), w2: generator.next(), w3: generator.next())) }
let dihedral = run(label: "dihedral") { query in
    [(query, .original)] + zip(others, DihedralTransform.allCases.dropFirst()).map { (PDQHash(bits: Bytes32(w0: $0.bits.w0 ^ query.bits.w1, w1: $0.bits.w1 ^ query.bits.w2, w2: $0.bits.w2 ^ query.bits.w3, w3: $0.bits.w3 ^ query.bits.w0)), $1) }
}
print("dihedral cost: \(String(format: "%.2f", plain / dihedral))x a plain query")
