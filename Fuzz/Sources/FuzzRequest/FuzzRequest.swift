import FuzzSupport

/// The parts of a request the service parses itself: a multipart/form-data body (the first
/// bytes up to a newline are the Content-Type header, the rest the body).
@_cdecl("FuzzRequest_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzRequest(data, size) }
}

func fuzzRequest(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = input ?? UnsafePointer(bitPattern: 1)!
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
    guard let boundary = try? MultipartForm.boundary(contentType: contentType) else { return 0 }
    if let parts = try? MultipartForm.parse(body, boundary: boundary, maxParts: 16) {
        for part in parts {
            precondition(part.content.lowerBound >= 0 && part.content.upperBound <= body.count, "part inside the body")
        }
    }
    return 0
}
