import Foundation
import HashCore
import HashServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ScreeningTests {
    @Test func checkAnswersExactAndNearMatchesWithWhatMatched() async throws {
        let fixture = try ServiceFixture()
        let baseline = try ServiceFixture.bytes("images/jpeg/baseline.jpg")
        let rgb8 = try ServiceFixture.bytes("images/png/rgb8.png")
        let unrelated = try ServiceFixture.bytes("images/png/gray8.png")
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: baseline)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["matched"] as? Bool == true)
                let first = try #require((object["matches"] as? [[String: Any]])?.first)
                #expect(first["id"] as? String == "known-baseline")
                #expect(first["kind"] as? String == "sha256")
                #expect(first["categories"] as? [String] == ["A1"])
                #expect(first["sources"] as? [String] == ["hotline"])
                #expect((object["hashes"] as? [String: Any])?["sha256"] as? String != nil)
                #expect((object["database"] as? String)?.hasPrefix("sha256:") == true)
            }
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: rgb8)) { response in
                let object = try json(response)
                let first = try #require((object["matches"] as? [[String: Any]])?.first)
                #expect(first["id"] as? String == "known-rgb8")
                #expect(first["kind"] as? String == "pdq")
                #expect(first["distance"] as? Int == 0)
            }
            try await client.execute(uri: "/v1/check?threshold=0", method: .post, headers: .authorized, body: ByteBuffer(bytes: unrelated)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["matched"] as? Bool == false)
                #expect(matchIDs(object).isEmpty)
            }
        }
    }

    @Test func filtersAndParametersAreApplied() async throws {
        let fixture = try ServiceFixture()
        let baseline = try ServiceFixture.bytes("images/jpeg/baseline.jpg")
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check?category=B2", method: .post, headers: .authorized, body: ByteBuffer(bytes: baseline)) { response in
                let ids = matchIDs(try json(response))
                #expect(!ids.contains("known-baseline"))
            }
            try await client.execute(uri: "/v1/check?source=hotline&category=A1", method: .post, headers: .authorized, body: ByteBuffer(bytes: baseline)) { response in
                let ids = matchIDs(try json(response))
                #expect(ids.contains("known-baseline"))
            }
            for query in ["threshold=abc", "threshold=300", "min_quality=-1", "dihedral=maybe"] {
                try await client.execute(uri: "/v1/check?\(query)", method: .post, headers: .authorized, body: ByteBuffer(bytes: baseline)) { response in
                    let code = try errorCode(response)
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(code == "bad_parameter")
                }
            }
        }
    }

    @Test func dihedralMatchReportsTheTransform() async throws {
        let fixture = try ServiceFixture()
        // rgb8.png mirrored: encode the flipped pixels as PNG.
        let decoded = try ImageDecoder().decode(ServiceFixture.bytes("images/png/rgb8.png")).image
        let mirrored = try ImageEncoder.png(decoded.mirrored())
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check?dihedral=true", method: .post, headers: .authorized, body: ByteBuffer(bytes: mirrored)) { response in
                let object = try json(response)
                let match = try #require((object["matches"] as? [[String: Any]])?.first { $0["id"] as? String == "known-rgb8" })
                #expect(match["transform"] as? String != "orig")
                #expect((match["distance"] as? Int ?? 99) <= 31)
            }
        }
    }

    @Test func badBodiesGetFourHundredsNamingTheProblem() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized) { response in
                #expect(response.status == .badRequest)
                try #expect(errorCode(response) == "empty_body")
            }
            for (file, code) in [("bad/text.png", "unsupported_format"), ("bad/truncated.png", "truncated"),
                                 ("bad/corrupt-frame-header.jpg", nil), ("bad/animation.gif", "unsupported_format")] {
                try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                         body: ByteBuffer(bytes: try ServiceFixture.bytes(file))) { response in
                    #expect(response.status == .unprocessableContent, "\(file)")
                    let object = try json(response)
                    let error = try #require(object["error"] as? [String: Any])
                    if let code { #expect(error["code"] as? String == code, "\(file)") }
                    #expect((error["message"] as? String)?.isEmpty == false)
                    #expect((object["hashes"] as? [String: Any])?["sha256"] != nil, "digests are still reported")
                }
            }
        }
    }

    @Test func undecodableFileOnTheListStillMatchesExactly() async throws {
        let fixture = try ServiceFixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                     body: ByteBuffer(bytes: try ServiceFixture.bytes("bad/corrupt.webp"))) { response in
                #expect(response.status == .unprocessableContent)
                let ids = matchIDs(try json(response))
                #expect(ids == ["known-corrupt"])
            }
        }
    }

    @Test func bombsAndOversizedBodiesAreRefusedBeforeDecoding() async throws {
        let fixture = try ServiceFixture()
        let app = fixture.app { $0.limits.maxBodyBytes = 64 << 10 }
        let baseline = try ServiceFixture.bytes("images/jpeg/baseline.jpg")
        try await app.test(.router) { client in
            for bomb in ["bad/bomb-100000x100000.png", "bad/bomb-65000x65000.jpg", "bad/bomb-16383x16383.webp", "bad/wide-70000x10.png"] {
                try await client.execute(uri: "/v1/check", method: .post, headers: .authorized,
                                         body: ByteBuffer(bytes: try ServiceFixture.bytes(bomb))) { response in
                    #expect(response.status == .contentTooLarge, "\(bomb)")
                    let code = try errorCode(response)
                    #expect(["too_many_pixels", "dimension_too_large"].contains(code ?? ""), "\(bomb): \(code ?? "nil")")
                }
            }
            let oversized = ByteBuffer(bytes: baseline + [UInt8](repeating: 0, count: 64 << 10))
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: oversized) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "body_too_large")
            }
        }
    }

    @Test func batchAnswersEachItemAndGoesOnAfterBadOnes() async throws {
        let fixture = try ServiceFixture()
        let body = multipart([
            ("baseline.jpg", try ServiceFixture.bytes("images/jpeg/baseline.jpg")),
            ("text.png", try ServiceFixture.bytes("bad/text.png")),
            ("empty.jpg", []),
            ("bomb.png", try ServiceFixture.bytes("bad/bomb-100000x100000.png")),
            ("rgb8.png", try ServiceFixture.bytes("images/png/rgb8.png")),
        ])
        try await fixture.app().test(.router) { client in
            var headers = HTTPFields.authorized
            headers[.contentType] = "multipart/form-data; boundary=hashdb-test-boundary"
            try await client.execute(uri: "/v1/check/batch", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok)
                let results = try #require(try json(response)["results"] as? [[String: Any]])
                #expect(results.count == 5)
                #expect(results.map { $0["filename"] as? String } == ["baseline.jpg", "text.png", "empty.jpg", "bomb.png", "rgb8.png"])
                #expect(matchIDs(results[0]).first == "known-baseline")
                #expect(results[1]["status"] as? Int == 422)
                #expect(results[2]["status"] as? Int == 400)
                #expect(results[3]["status"] as? Int == 413)
                #expect(matchIDs(results[4]).first == "known-rgb8")
            }
            try await client.execute(uri: "/v1/check/batch", method: .post, headers: .authorized, body: body) { response in
                #expect(response.status == .unsupportedMediaType)
                try #expect(errorCode(response) == "not_multipart")
            }
            headers[.contentType] = "multipart/form-data; boundary=other-boundary"
            try await client.execute(uri: "/v1/check/batch", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .badRequest)
                try #expect(errorCode(response) == "bad_multipart")
            }
        }
        let tooMany = multipart((0..<3).map { ("\($0).jpg", [UInt8(0xFF)]) })
        try await fixture.app { $0.limits.maxBatchItems = 2 }.test(.router) { client in
            var headers = HTTPFields.authorized
            headers[.contentType] = "multipart/form-data; boundary=hashdb-test-boundary"
            try await client.execute(uri: "/v1/check/batch", method: .post, headers: headers, body: tooMany) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "too_many_items")
            }
        }
    }

    @Test func lookupAnswersEachHashAndNamesBadOnes() async throws {
        let fixture = try ServiceFixture()
        let baseline = try Fingerprinter().fingerprint(path: ServiceFixture.image("images/jpeg/baseline.jpg").path)
        let rgb8 = try Fingerprinter().fingerprint(path: ServiceFixture.image("images/png/rgb8.png").path)
        let document = """
            {"hashes":[
              {"id":"a","sha256":"\(baseline.digests.sha256.hex.uppercased())"},
              {"id":"b","pdq":"\(try #require(rgb8.imageFingerprint).pdq.hash.hex)","quality":100},
              {"id":"c","md5":"not-hex"},
              {"id":"d"},
              {"id":"e","sha1":"\(String(repeating: "0", count: 40))"}
            ]}
            """
        try await fixture.app { $0.limits.maxLookupHashes = 5 }.test(.router) { client in
            try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized, body: ByteBuffer(string: document)) { response in
                #expect(response.status == .ok)
                let results = try #require(try json(response)["results"] as? [[String: Any]])
                #expect(results.map { $0["id"] as? String } == ["a", "b", "c", "d", "e"])
                #expect(matchIDs(results[0]).first == "known-baseline")
                #expect(matchIDs(results[1]).first == "known-rgb8")
                #expect((results[2]["error"] as? [String: Any])?["code"] as? String == "bad_hash")
                #expect((results[3]["error"] as? [String: Any])?["code"] as? String == "no_hashes")
                #expect(results[4]["matched"] as? Bool == false)
            }
            for bad in ["", "{", "[]", #"{"hashes":"x"}"#, #"{"hashes":[{"sha256":5}]}"#] {
                try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized, body: ByteBuffer(string: bad)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    try #expect(errorCode(response) == "bad_json")
                }
            }
            let six = #"{"hashes":["# + Array(repeating: #"{"md5":"00000000000000000000000000000000"}"#, count: 6).joined(separator: ",") + "]}"
            try await client.execute(uri: "/v1/lookup", method: .post, headers: .authorized, body: ByteBuffer(string: six)) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "too_many_hashes")
            }
        }
    }

    /// Issue 15, item 5: an all-zero PDQ hash at threshold 256 listed every stored PDQ entry.
    @Test func thresholdAndMinQualityStayWithinTheOperatorsLimitsAndMatchesAreCapped() async throws {
        let fixture = try ServiceFixture()
        let zeroHash = #"{"hashes":[{"pdq":"\#(String(repeating: "0", count: 64))"}]}"#
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/lookup?threshold=256&min_quality=50", method: .post, headers: .authorized,
                                     body: ByteBuffer(string: zeroHash)) { response in
                #expect(response.status == .badRequest)
                let error = try #require(try json(response)["error"] as? [String: Any])
                #expect(error["code"] as? String == "threshold_too_high")
                #expect((error["message"] as? String)?.contains("at most 31") == true)
            }
            try await client.execute(uri: "/v1/lookup?threshold=31&min_quality=0", method: .post, headers: .authorized,
                                     body: ByteBuffer(string: zeroHash)) { response in
                #expect(response.status == .badRequest)
                try #expect(errorCode(response) == "min_quality_too_low")
            }
            try await client.execute(uri: "/v1/lookup?threshold=31", method: .post, headers: .authorized,
                                     body: ByteBuffer(string: zeroHash)) { response in
                #expect(response.status == .ok)
            }
        }
        // An operator who widens the limits still gets at most max-matches-per-item matches an item.
        try await fixture.app {
            $0.limits.maxThreshold = 256
            $0.limits.minQualityFloor = 0
            $0.limits.maxMatchesPerItem = 1
        }.test(.router) { client in
            try await client.execute(uri: "/v1/lookup?threshold=256&min_quality=0", method: .post, headers: .authorized,
                                     body: ByteBuffer(string: zeroHash)) { response in
                #expect(response.status == .ok)
                let result = try #require((try json(response)["results"] as? [[String: Any]])?.first)
                #expect(matchIDs(result).count == 1)
                #expect(result["truncated"] as? Bool == true)
            }
            try await client.execute(uri: "/v1/info", method: .get, headers: .authorized) { response in
                let service = try #require(try json(response)["service"] as? [String: Any])
                #expect(service["max_threshold"] as? Int == 256)
                #expect(service["max_matches_per_item"] as? Int == 1)
                #expect(service["min_quality_floor"] as? Int == 0)
            }
        }
    }
}
