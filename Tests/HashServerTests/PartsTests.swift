import Foundation
import HashCore
@testable import HashServer
import Testing

@Suite struct KeyRingTests {
    @Test func keysAreCheckedByDigestAndTheFileNamesItsProblems() throws {
        let generated = KeyRing.generate(name: "provider-a", ratePerSecond: 50)
        #expect(generated.key.hasPrefix("hdb_") && generated.key.count == 68)
        #expect(!generated.line.contains(generated.key))
        let ring = try KeyRing(parsing: "# keys\n\n\(generated.line)\nother sha256:\(String(repeating: "ab", count: 32))\n", path: "keys.txt")
        #expect(ring.authenticate(generated.key)?.name == "provider-a")
        #expect(ring.authenticate(generated.key)?.ratePerSecond == 50)
        #expect(ring.authenticate(generated.key + "x") == nil)
        #expect(ring.authenticate("") == nil)

        let bad: [(String, String)] = [
            ("a sha256:1234", "keys.txt:1:"),
            ("a hdb_plainkey", "keys.txt:1:"),
            ("\(generated.line)\n\(generated.line)", "keys.txt:2: key name 'provider-a' was already given on line 1"),
            ("a sha256:\(String(repeating: "ab", count: 32)) rate=0", "keys.txt:1:"),
            ("# only a comment", "no keys"),
        ]
        for (text, expected) in bad {
            #expect(throws: KeyFileError.self) { try KeyRing(parsing: text, path: "keys.txt") }
            do {
                _ = try KeyRing(parsing: text, path: "keys.txt")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }

    @Test func rateLimiterRefillsWithTime() {
        let limiter = RateLimiter()
        let start = ContinuousClock.now
        #expect(limiter.take(key: "k", ratePerSecond: 2, now: start) == nil)
        #expect(limiter.take(key: "k", ratePerSecond: 2, now: start) == nil)
        let wait = limiter.take(key: "k", ratePerSecond: 2, now: start)
        #expect(wait != nil && wait! > .zero && wait! <= .milliseconds(500))
        #expect(limiter.take(key: "k", ratePerSecond: 2, now: start + .milliseconds(500)) == nil)
        #expect(limiter.take(key: "other", ratePerSecond: 2, now: start) == nil)
    }
}

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
