import FuzzSupport

/// Any bytes as a database file: open (structural checks), verify (every reference), lookups,
/// near matching and entry reads must refuse or answer, never read out of bounds.
@_cdecl("FuzzDatabase_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzDatabase(data, size) }
}

func fuzzDatabase(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = input ?? UnsafePointer(bitPattern: 1)!
    let path = FuzzScratch.write(data, size)
    guard let database = try? HashDatabase.open(path: path) else { return 0 }
    _ = database.verify(limit: 4)
    _ = try? database.labelCounts()
    let probe = Bytes32(w0: 0x0123_4567_89ab_cdef, w1: 0, w2: UInt64(size), w3: 0)
    for kind in DigestKind.allCases {
        _ = database.lookup(Digest(kind: kind, value: probe))
    }
    _ = try? database.match(QueryHashes(digests: [Digest(kind: .sha256, value: probe)], pdq: PDQHash(bits: probe), quality: 100),
                            options: MatchOptions(threshold: 31, explain: true))
    for index in 0..<min(database.entryCount, 16) {
        _ = try? database.entry(index)
    }
    return 0
}
