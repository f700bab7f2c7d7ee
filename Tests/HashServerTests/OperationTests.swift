import Foundation
import HashCore
@testable import HashServer
import Hummingbird
import HummingbirdTesting
import Synchronization
import TestSupport
import Testing

@Suite struct OperationTests {
    static let md5Lookup = #"{"hashes":[{"md5":"00000000000000000000000000000000"}]}"#

    @Test func everyRouteButHealthAndReadinessNeedsAKey() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app().test(.router) { client in
            for (uri, method) in [("/v1/check", HTTPRequest.Method.post), ("/v1/check/batch", .post), ("/v1/lookup", .post),
                                  ("/v1/info", .get), ("/metrics", .get), ("/status", .get)] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(uri) without a key")
                    try #expect(errorCode(response) == "unauthorized")
                }
                try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer wrong-key"]) { response in
                    #expect(response.status == .unauthorized, "\(uri) with a wrong key")
                }
                try await client.execute(uri: uri, method: method, headers: [.authorization: "Basic \(ServiceFixture.key)"]) { response in
                    #expect(response.status == .unauthorized, "\(uri) with the key in the wrong scheme")
                }
            }
            for uri in ["/healthz", "/readyz"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                }
            }
            // Issue 15, item 12: a client's key does not open the operator's routes.
            for uri in ["/metrics", "/status"] {
                try await client.execute(uri: uri, method: .get, headers: .authorized) { response in
                    #expect(response.status == .unauthorized, "\(uri) with a client's key")
                }
                try await client.execute(uri: uri, method: .get, headers: .operatorAuthorized) { response in
                    #expect(response.status == .ok, "\(uri) with the operator's key")
                }
            }
            try await client.execute(uri: "/v1/info", method: .get, headers: .operatorAuthorized) { response in
                #expect(response.status == .unauthorized, "the operator's key is not a client's")
            }
            try await client.execute(uri: "/v1/lookup", method: .post, headers: [AuthMiddleware.apiKeyHeader: ServiceFixture.key],
                                     body: ByteBuffer(string: Self.md5Lookup)) { response in
                #expect(response.status == .ok, "X-API-Key is accepted too")
            }
        }
    }

    @Test func aKeyOverItsRateIsToldWhenToComeBack() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app().test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: String?
            for _ in 0..<4 {
                try await client.execute(uri: "/v1/lookup", method: .post, headers: [.authorization: "Bearer \(ServiceFixture.slowKey)"],
                                         body: ByteBuffer(string: Self.md5Lookup)) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests { retryAfter = response.headers[.retryAfter] }
                }
            }
            // Rate 2: a burst of two passes, the rest wait (the test runs well within a second).
            #expect(statuses.prefix(2).allSatisfy { $0 == .ok })
            #expect(statuses.contains(.tooManyRequests))
            #expect(retryAfter == "1")
            try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized, body: ByteBuffer(string: Self.md5Lookup)) { response in
                #expect(response.status == .ok, "other keys are not limited by it")
            }
        }
    }

    @Test func infoReadinessAndMetricsDescribeWhatServes() async throws {
        let fixture = try ServiceFixture()
        let checksum = "sha256:" + Hex.encode(fixture.store.current.database.checksum, byteCount: 32)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/info", method: .get, headers: .authorized) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                let database = try #require(object["database"] as? [String: Any])
                #expect(database["entries"] as? Int == 3)
                #expect(database["checksum"] as? String == String(checksum.dropFirst(7)))
                #expect(database["manifest"] as? [String: Any] != nil)
                #expect(database["path"] == nil, "the server's paths are not the clients' business")
                #expect(object["last_reload"] == nil && object["reloads"] == nil)
                #expect(object["checksum"] as? String == checksum)
                #expect((object["service"] as? [String: Any])?["max_batch_items"] as? Int == 64)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                let object = try json(response)
                #expect(object["ready"] as? Bool == true)
                #expect(object.count == 1, "the public readiness answer says ready or not, nothing more")
            }
            try await client.execute(uri: "/status", method: .get, headers: .operatorAuthorized) { response in
                let object = try json(response)
                #expect(object["ready"] as? Bool == true)
                #expect(object["checksum"] as? String == checksum)
                #expect(object["path"] as? String == fixture.databasePath)
            }
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                     body: ByteBuffer(bytes: try ServiceFixture.bytes("images/jpeg/baseline.jpg")))
            try await client.execute(uri: "/metrics", method: .get, headers: .operatorAuthorized) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"hashdb_http_requests_total{route="/v1/check",status="200"} 1"#))
                #expect(text.contains("hashdb_http_request_duration_seconds_bucket"))
                #expect(text.contains(#"hashdb_matches_total{source="hotline",category="A1",kind="sha256"} 1"#))
                #expect(text.contains(#"hashdb_entry_hits{entry="known-baseline"} 1"#))
                #expect(text.contains("hashdb_database_entries 3"))
                #expect(text.contains(#"hashdb_http_requests_total{route="/v1/info",status="200"} 1"#))
            }
        }
    }

    /// Issue 15, item 15: a manifest of `1,"checksum":"sha256:00"` was spliced into /v1/info as
    /// it was, adding a "checksum" member of the attacker's choosing.
    @Test func aManifestThatIsNotOneJSONObjectIsWrittenAsAString() async throws {
        // Two defences: a file whose manifest is not one JSON object is refused at open, and
        // the writer would write such text as a string anyway.
        let injection = #"1,"checksum":"sha256:00""#
        #expect(throws: (any Error).self) { try ServiceFixture(manifest: injection) }
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("manifest", jsonObjectText: injection)
        writer.member("checksum", "real")
        writer.endObject()
        let written = try #require(try JSONSerialization.jsonObject(with: Data(writer.output.utf8)) as? [String: Any])
        #expect(written["manifest"] as? String == injection && written["checksum"] as? String == "real")
        let object = #"{"tool":"hashdb","inputs":[{"name":"a\"b"}]}"#
        try await ServiceFixture(manifest: object).app().test(.router) { client in
            try await client.execute(uri: "/v1/info", method: .get, headers: .authorized) { response in
                let database = try #require(try json(response)["database"] as? [String: Any])
                #expect((database["manifest"] as? [String: Any])?["tool"] as? String == "hashdb")
            }
        }
    }

    @Test func hotReloadDuringRequestsFailsNoRequest() async throws {
        let fixture = try ServiceFixture()
        let first = fixture.store.current.database.checksum
        try await fixture.app().test(.router) { client in
            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<150 {
                            try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized,
                                                     body: ByteBuffer(string: Self.md5Lookup)) { response in
                                if response.status != .ok { tally.failures.add(1, ordering: .relaxed) }
                                tally.answered.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                group.addTask {
                    for variant in 1...5 {
                        try fixture.replaceDatabase(variant: variant)
                        try await Task.sleep(for: .milliseconds(60))
                    }
                }
                try await group.waitForAll()
            }
            #expect(tally.answered.load(ordering: .relaxed) == 600)
            #expect(tally.failures.load(ordering: .relaxed) == 0)
            try await Self.waitFor { fixture.store.current.database.entryCount == 3 + 5 }
            #expect(fixture.store.current.database.checksum != first)
            try await client.execute(uri: "/v1/info", method: .get, headers: .authorized) { response in
                let object = try json(response)
                #expect(object["entries"] as? Int == 8)
            }
        }
    }

    @Test func aCorruptReplacementIsRefusedAndTheOldDatabaseKeepsServing() async throws {
        let fixture = try ServiceFixture()
        let serving = fixture.store.current.database.checksum
        try await fixture.app().test(.router) { client in
            try fixture.replaceWithCorruptDatabase()
            try await Self.waitFor { fixture.store.counts.refusals >= 1 }
            #expect(fixture.store.current.database.checksum == serving)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("checksum"), "errors and paths are not public")
            }
            try await client.execute(uri: "/status", method: .get, headers: .operatorAuthorized) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                let last = try #require(object["last_reload"] as? [String: Any])
                #expect(last["ok"] as? Bool == false)
                #expect((last["error"] as? String)?.contains("checksum") == true)
            }
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                     body: ByteBuffer(bytes: try ServiceFixture.bytes("images/jpeg/baseline.jpg"))) { response in
                let ids = matchIDs(try json(response))
                #expect(ids.first == "known-baseline")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: .operatorAuthorized) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"hashdb_reloads_total{outcome="refused"}"#))
                #expect(text.contains("hashdb_last_reload_failed 1"))
            }
            // A good file afterwards is taken.
            try fixture.replaceDatabase(variant: 2)
            try await Self.waitFor { fixture.store.current.database.entryCount == 5 }
        }
    }

    /// Without operator keys, a keyed service keeps its operator routes shut.
    @Test func operatorRoutesAreClosedWithoutOperatorKeys() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app { $0.operatorKeys = nil }.test(.router) { client in
            for uri in ["/metrics", "/status"] {
                try await client.execute(uri: uri, method: .get, headers: .authorized) { response in
                    #expect(response.status == .forbidden, "\(uri)")
                    try #expect(errorCode(response) == "operator_routes_closed")
                }
            }
        }
    }

    /// Issue 15, item 14: one info line per request names the key, the decision and what
    /// matched; a non-matching upload's hashes are never logged, at any level; refused keys are.
    @Test func logsNameTheKeyAndDecisionAndNeverANonMatchsHashes() async throws {
        let fixture = try ServiceFixture()
        let logs = CapturedLogs()
        let unrelated = try ServiceFixture.bytes("images/png/gray8.png")
        let unrelatedHashes = QueryHashes(Fingerprinter().fingerprint(bytes: unrelated))
        let secrets = unrelatedHashes.digests.map(\.hex) + [try #require(unrelatedHashes.pdq).hex]
        try await fixture.app(logger: logs.logger(level: .trace)).test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                     body: ByteBuffer(bytes: try ServiceFixture.bytes("images/jpeg/baseline.jpg")))
            try await client.execute(uri: "/v1/check?threshold=0", method: .post, headers: .authorized, body: ByteBuffer(bytes: unrelated))
            try await client.execute(uri: "/v1/check", method: .post, headers: [.authorization: "Bearer guessed-key"],
                                     body: ByteBuffer(bytes: unrelated))
        }
        let decisions = logs.records.filter { $0.message == "screened" }
        #expect(decisions.count == 2)
        #expect(decisions.allSatisfy { $0.level == .info && $0.metadata["key"] == "tester" })
        #expect(decisions.first?.metadata["decision"] == "match")
        #expect(decisions.first?.metadata["entries"]?.description.contains("known-baseline") == true)
        #expect(decisions.last?.metadata["decision"] == "no_match")
        for record in logs.records {
            for secret in secrets {
                #expect(!record.text.lowercased().contains(secret.lowercased()), "\(record.message) logs a non-matching upload's hash")
            }
            #expect(!record.text.contains("guessed-key"), "a presented key is never logged")
        }
        let refusal = try #require(logs.records.first { $0.message.hasPrefix("refused") })
        #expect(refusal.message.contains("unknown key") && refusal.level == .notice)
        #expect(refusal.metadata["path"] == "/v1/check")
    }

    /// Polls `condition` for up to 10 seconds (reloads happen on the watcher's schedule).
    static func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(condition())
    }
}

final class Tally: Sendable {
    let answered = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
}

@Suite struct DocumentationTests {
    /// Every route the app serves is described in docs/openapi.yaml.
    @Test func openAPIDescribesEveryRoute() throws {
        let text = try String(contentsOf: TestSupport.TestPaths.repositoryRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        for route in ["/v1/check", "/v1/check/batch", "/v1/lookup", "/v1/info", "/metrics", "/status", "/healthz", "/readyz", "/v1/floods"] {
            #expect(text.contains("\n  \(route):\n"), "\(route)")
        }
    }
}
