import Foundation
import HashCore
import HashServer
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Video uploads to /v1/check: hashed from memory with vPDQ, matched against stored videos
/// (vPDQ's rule) and images (frames), within limits of their own.
@Suite struct VideoScreeningTests {
    /// The Fixtures' pattern.mp4 as a known video (by its frames only: an upload of its
    /// re-encode has other digests), listed with the service's usual rows.
    static func fixture() throws -> ServiceFixture {
        let hasher = Fingerprinter(videoHasher: VPDQHasher())
        let pattern = try hasher.fingerprint(path: ServiceFixture.image("videos/pattern.mp4").path)
        var row = ListRow(id: "known-pattern-video", categories: ["A1"], sources: ["hotline"])
        row.video = StoredVideo(try #require(try pattern.video?.get()))
        return try ServiceFixture(extraRows: [row])
    }

    @Test func aReencodedVideoMatchesTheStoredOneAndAFrameMatchesAsAnImage() async throws {
        let fixture = try Self.fixture()
        let webm = try ServiceFixture.bytes("videos/pattern-small.webm")
        let frame = try ServiceFixture.bytes("videos/pattern-frame-50.png")
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: webm)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["matched"] as? Bool == true)
                #expect((object["hashes"] as? [String: Any])?["frames"] as? Int == 3)
                let match = try #require((object["matches"] as? [[String: Any]])?.first)
                #expect(match["id"] as? String == "known-pattern-video" && match["kind"] as? String == "vpdq")
                #expect(match["query_percent"] as? Double == 100 && match["compared_percent"] as? Double == 100)
                #expect(match["query_ranges"] as? [[Double]] == [[0, 2]])
            }
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: frame)) { response in
                let match = try #require((try json(response)["matches"] as? [[String: Any]])?.first)
                #expect(match["kind"] as? String == "frame" && match["in"] as? String == "entry")
                #expect((match["frames"] as? [[String: Any]])?.first?["frame"] as? Int == 50)
            }
        }
    }

    @Test func videoLimitsAndParametersAreTheOperators() async throws {
        let fixture = try Self.fixture()
        let mp4 = try ServiceFixture.bytes("videos/pattern.mp4")
        let truncated = try ServiceFixture.bytes("bad-videos/truncated.mp4")
        try await fixture.app({ settings in
            settings.limits.maxBodyBytes = 40_000  // under pattern.mp4's 79 KB: a video has a limit of its own
            settings.limits.maxVideoBodyBytes = 100_000
        }).test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: mp4)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/check?video_query_percent=10", method: .post, headers: .authorized, body: ByteBuffer(bytes: mp4)) { response in
                #expect(response.status == .badRequest)
                try #expect(errorCode(response) == "video_query_percent_too_low")
            }
            try await client.execute(uri: "/v1/check?video_compared_percent=abc", method: .post, headers: .authorized, body: ByteBuffer(bytes: mp4)) { response in
                try #expect(errorCode(response) == "bad_parameter")
            }
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: truncated)) { response in
                #expect(response.status == .unprocessableContent)
                try #expect(errorCode(response) == "corrupt_video")
            }
        }
        try await fixture.app({ settings in
            settings.limits.maxVideoBodyBytes = 60_000  // over the 55 KB WebM, under the 79 KB MP4
            settings.limits.video.maxDurationSeconds = 1
        }).test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: mp4)) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "body_too_large")
            }
            let webm = try ServiceFixture.bytes("videos/pattern-small.webm")
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: webm)) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(errorCode(response) == "too_long")
            }
        }
    }
}

/// A video upload matched by TMK+PDQF, beside vPDQ and digests, when the database holds TMKs.
@Suite struct TMKScreeningTests {
    static var available: Bool { FileManager.default.isExecutableFile(atPath: TMKFrameSource.defaultProgram) }

    @Test(.enabled(if: TMKScreeningTests.available, "the ffmpeg program is not installed (scripts/install-deps installs it)"))
    func anUploadMatchesByTMK() async throws {
        let path = ServiceFixture.image("videos/pattern.mp4").path
        var row = ListRow(id: "known-pattern-tmk", categories: ["A1"], sources: ["ncmec"])
        row.tmk = try TMK.hash(path: path, format: .mp4)
        let fixture = try ServiceFixture(extraRows: [row])
        let webm = try ServiceFixture.bytes("videos/pattern-small.webm")
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, headers: .authorized, body: ByteBuffer(bytes: webm)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                let match = try #require((object["matches"] as? [[String: Any]])?.first)
                #expect(match["id"] as? String == "known-pattern-tmk" && match["kind"] as? String == "tmk")
                #expect((match["level1"] as? Double ?? 0) >= 0.7 && (match["level2"] as? Double ?? 0) >= 0.7)
                #expect((40...50).contains((object["hashes"] as? [String: Any])?["tmk_frames"] as? Int ?? 0), "3 s at 15 frames a second")
            }
            try await client.execute(uri: "/v1/check?tmk_level2=0.5", method: .post, headers: .authorized, body: ByteBuffer(bytes: webm)) { response in
                #expect(response.status == .badRequest)
                try #expect(errorCode(response) == "tmk_level2_too_low")
            }
        }
    }
}
