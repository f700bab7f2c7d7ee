// Exact SHA-256 lookups against the keys ../shared/tools/exact_lookup_sqlite.py writes:
// builds DIR/keys.hdb from DIR/keys.bin (once), then times single-threaded lookups of
// DIR/probes.bin on a warm mapping, as the SQLite tool does.
// Usage: exact-lookup DIR [--rounds 5]
import Foundation
import HashCore

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: exact-lookup DIR [--rounds N]")
    exit(64)
}
let directory = arguments[1]
let rounds = arguments.count >= 4 && arguments[2] == "--rounds" ? Int(arguments[3]) ?? 5 : 5

func load(_ name: String) -> [Bytes32] {
    guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else {
        print("missing \(directory)/\(name): run exact_lookup_sqlite.py first")
        exit(1)
    }
    return data.withUnsafeBytes { raw in
        (0..<(raw.count / 32)).map { Bytes32(loadingFrom: raw.baseAddress! + $0 * 32) }
    }
}

let databasePath = "\(directory)/keys.hdb"
if !FileManager.default.fileExists(atPath: databasePath) {
    let keys = load("keys.bin")
    let start = ContinuousClock.now
    let builder = try DatabaseBuilder(destination: databasePath)
    for key in keys {
        try builder.add(ListRow(digests: [Digest(kind: .sha256, value: key)]))
    }
    let summary = try builder.write()
    print("built \(databasePath): \(summary.entries) entries in \(ContinuousClock.now - start)")
}

let probes = load("probes.bin").map { Digest(kind: .sha256, value: $0) }
let openStart = ContinuousClock.now
let database = try HashDatabase.open(path: databasePath)
let openTime = ContinuousClock.now - openStart
var found = 0
for probe in probes where database.lookup(probe) != nil {  // warm the mapping
    found += 1
}
var best = 0.0
for _ in 0..<rounds {
    let start = ContinuousClock.now
    var hits = 0
    for probe in probes where database.lookup(probe) != nil {
        hits += 1
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    best = max(best, Double(probes.count) / seconds)
    precondition(hits == found, "lookups must be deterministic")
}
print("RESULT hashdb n=\(database.entryCount) lookups_per_second=\(Int(best)) found=\(found) expected=\((probes.count + 1) / 2) open=\(openTime)")
