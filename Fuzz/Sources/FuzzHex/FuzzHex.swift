import FuzzSupport

/// Any text as hex: digests of each kind, PDQ hashes, and the kind told from the length.
@_cdecl("FuzzHex_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzHex(data, size) }
}

func fuzzHex(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = input ?? UnsafePointer(bitPattern: 1)!
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for kind in DigestKind.allCases {
        if let digest = try? Digest(kind: kind, hex: text) {
            precondition(digest.hex == text.lowercased(), "hex round trip")
        }
    }
    if let hash = try? PDQHash(hex: text) {
        precondition(hash.hex == text.lowercased(), "PDQ hex round trip")
    }
    _ = DigestKind(hexLength: text.utf8.count)
    return 0
}
