import FuzzSupport

/// Any bytes as an upload: digests, format detection, decode (JPEG, PNG, WebP) and PDQ with
/// its dihedral variants, under limits small enough that the fuzzer explores structure, not size.
nonisolated(unsafe) let fingerprinter = Fingerprinter(
    decoder: ImageDecoder(limits: DecodeLimits(maxPixels: 4_000_000, maxDimension: 8_192, maxFileBytes: 1 << 20,
                                               maxJPEGScans: 64, maxMetadataBytes: 1 << 20)),
    dihedral: true)

@_cdecl("FuzzImage_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzImage(data, size) }
}

func fuzzImage(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = input ?? UnsafePointer(bitPattern: 1)!
    let fingerprint = fingerprinter.fingerprint(bytes: UnsafeRawBufferPointer(start: data, count: size))
    if case .success(let image) = fingerprint.image {
        precondition(image.pdq.quality >= 0 && image.pdq.quality <= 100, "quality out of range")
        precondition(image.pdq.dihedral.count == 8, "eight dihedral hashes")
    }
    return 0
}
