import Foundation
import Testing

@testable import HashCore

@Suite struct MultipartTests {
    func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func partsAreFoundWithTheirNamesAndBytes() throws {
        let text = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"one.jpg\"\r\n\r\nAB\r\nCD\r\n--XyZ  \r\ncontent-disposition: form-data; name=b\r\nContent-Type: image/png\r\n\r\n\r\n--XyZ--\r\n"
        let bytes = body(text)
        let parts = try MultipartForm.parse(bytes, boundary: "XyZ", maxParts: 10)
        #expect(parts.count == 2)
        #expect(parts[0].name == "a" && parts[0].filename == "one.jpg")
        #expect(Array(bytes[parts[0].content]) == body("AB\r\nCD"))
        #expect(parts[1].name == "b" && parts[1].filename == nil && parts[1].content.isEmpty)
        #expect(try MultipartForm.boundary(contentType: "multipart/form-data; charset=utf-8; boundary=\"XyZ\"") == "XyZ")
    }

    @Test func malformedBodiesAreNamedNeverCrash() {
        let cases: [(String, String)] = [
            ("", "does not contain the boundary"),
            ("--XyZ", "not followed by a line break"),
            ("--XyZ\r\n", "do not end"),
            ("--XyZ\r\n\r\nbody\r\n--XyZ--", "no Content-Disposition"),
            ("--XyZ\r\nContent-Disposition: form-data\r\n\r\nnever closed", "not closed"),
            ("--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--", "without a colon"),
            ("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data\r\n\r\ny\r\n--XyZ--", "more than 1 parts"),
        ]
        for (text, expected) in cases {
            do {
                _ = try MultipartForm.parse(body(text), boundary: "XyZ", maxParts: 1)
                Issue.record("\(text.debugDescription) parsed")
            } catch {
                #expect(error.description.contains(expected), "\(text.debugDescription): \(error.description)")
            }
        }
        for contentType in [nil, "image/jpeg", "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\(String(repeating: "x", count: 71))"] {
            #expect(throws: MultipartError.self) { try MultipartForm.boundary(contentType: contentType) }
        }
    }

    @Test func randomBytesNeverCrashTheParser() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = body("--XyZ\r\n:; =\"ab")
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? MultipartForm.parse(bytes, boundary: "XyZ", maxParts: 4)
        }
    }
}
