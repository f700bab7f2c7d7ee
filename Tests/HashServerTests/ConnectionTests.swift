import Foundation
import HashCore
@testable import HashServer
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the service does with slow, many and oversized clients (issue 15, item 8), through a
/// live server on a loopback port and plain sockets, which send exactly what the test says
/// when it says.
@Suite struct ConnectionTests {
    static let settle: Duration = .seconds(10)

    /// A lookup over the item limit is refused while it is read: the body here is never valid
    /// JSON, so a check after decoding would have answered bad_json instead.
    @Test func lookupItemLimitIsCheckedWhileReading() async throws {
        let fixture = try ServiceFixture()
        let item = #"{"md5":"00000000000000000000000000000000"},"#
        let body = #"{"hashes":["# + String(repeating: item, count: 6) + "this is never JSON"
        try await fixture.app { $0.limits.maxLookupHashes = 5 }.test(.router) { client in
            try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "too_many_hashes")
            }
        }
        var counter = LookupItemCounter()
        counter.feed(Array(#"{"hashes":[{"id":"{[\"}{"},{"pdq":"x"}],"other":{"a":[{}]}}"#.utf8))
        #expect(counter.items == 2, "braces in strings and objects elsewhere are not items")
    }

    /// A body trickled in (here: started, then never finished) meets the request deadline.
    @Test func aTrickledLookupBodyTimesOut() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app { $0.limits.requestTimeout = .milliseconds(300) }.test(.live) { client in
            let port = try #require(client.port)
            let answer = try await RawConnection.exchange(port: port, send: [
                "POST /v1/lookup HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(ServiceFixture.key)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"hashes\":[",
            ], until: "timeout")
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
            #expect(answer.contains(#""code":"timeout""#))
        }
    }

    /// A route that answers without reading its body: the connection is still closed once the
    /// body has not arrived whole by the deadline, instead of being held open by a trickle.
    @Test func aStalledBodyOnARouteThatDoesNotReadItIsClosedAtTheDeadline() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app { $0.limits.requestTimeout = .milliseconds(300) }.test(.live) { client in
            let port = try #require(client.port)
            let started = ContinuousClock.now
            let answer = try await RawConnection.exchange(port: port, send: [
                "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{",
            ], until: "a marker no answer holds")
            #expect(answer.contains("HTTP/1.1"), "\(answer)")
            #expect(ContinuousClock.now - started < .seconds(30), "closed by the body deadline, not the idle timeout")
        }
    }

    /// Connections over the cap get one 503 and are closed; one that closes makes room.
    @Test func connectionsOverTheCapAreRefused() async throws {
        let fixture = try ServiceFixture()
        let health = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
        try await fixture.app { $0.maxConnections = 2 }.test(.live) { client in
            let port = try #require(client.port)
            // The test client may hold a connection of its own: open ours until one is refused.
            var held: [RawConnection] = []
            var refused: String?
            for _ in 0..<3 where refused == nil {
                let connection = try RawConnection(port: port)
                let answer = try await connection.exchange(send: [health], until: "alive")
                if answer.hasPrefix("HTTP/1.1 200") {
                    held.append(connection)
                } else {
                    refused = answer
                    connection.close()
                }
            }
            #expect((1...2).contains(held.count), "\(held.count) connections admitted under a cap of 2")
            let refusal = try #require(refused, "a connection over the cap was admitted")
            #expect(refusal.hasPrefix("HTTP/1.1 503") && refusal.contains("too_many_connections"), "\(refusal)")
            #expect(refusal.lowercased().contains("retry-after: 1"))
            held.removeFirst().close()
            // The server sees the close on its own event loop: ask until it has.
            var admitted = false
            for _ in 0..<100 where !admitted {
                admitted = try await RawConnection.exchange(port: port, send: [health], until: "alive").hasPrefix("HTTP/1.1 200")
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            for connection in held { connection.close() }
        }
    }
}

/// A TCP connection to the loopback port, written and read with plain blocking sockets on a
/// thread of its own (never on the concurrency pool the server's handlers need).
final class RawConnection: @unchecked Sendable {
    private var descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Sends each text, then reads until the answer contains `marker`, the server closes, or
    /// 10 seconds pass; returns what was read.
    func exchange(send texts: [String], until marker: String) async throws -> String {
        await HashingPool.runOnOwnThread { [self] in
            for text in texts {
                _ = Array(text.utf8).withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    static func exchange(port: Int, send texts: [String], until marker: String) async throws -> String {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        return try await connection.exchange(send: texts, until: marker)
    }
}
