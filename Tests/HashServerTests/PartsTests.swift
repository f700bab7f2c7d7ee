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


@Suite struct ListenAddressTests {
    /// Issue 15, item 13: the loopback check was a text prefix, and `127.example.com` passed.
    @Test func onlyLoopbackLiteralsAndLocalhostAreLoopback() throws {
        for text in ["127.0.0.1:8080", "127.255.255.254:0", "[::1]:8080", "::1:8080", "localhost:80", "[::ffff:127.0.0.1]:1"] {
            #expect(try #require(ListenAddress(text)).isLoopback, "\(text)")
        }
        for text in ["127.example.com:80", "127.0.0.1.nip.io:80", "localhost.example.com:80", "0.0.0.0:80", "[::]:80",
                     "10.0.0.1:80", "127.1:80", "0x7f.0.0.1:80", "[::ffff:10.0.0.1]:80", "[::2]:80", "LOCALHOST.:80"] {
            #expect(try #require(ListenAddress(text)).isLoopback == false, "\(text)")
        }
        #expect(ListenAddress("127.0.0.1") == nil)
        #expect(ListenAddress(":80") == nil)
        #expect(ListenAddress("host:65536") == nil)
        #expect(ListenAddress("[::1]:443") == ListenAddress("::1:443"))
    }
}
