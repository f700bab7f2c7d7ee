import Benchmark
import Foundation
import HashCore

/// Decode, digests and PDQ on the conformance set's 1600×1004 and 4032×3024 JPEGs (read from
/// ../shared beside the checkout, or HASHDB_SHARED).
let shared: URL = {
    if let override = ProcessInfo.processInfo.environment["HASHDB_SHARED"] {
        return URL(fileURLWithPath: override)
    }
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
}()

let images: [(name: String, bytes: [UInt8])] = [
    ("1600x1004", "conformance/pdq/images/bridge-mods/aaa-orig.jpg"),
    ("4032x3024", "conformance/pdq/images/reg-test-input/exif-rotn/exif-rotn-1.jpg"),
].map { name, path in
    guard let data = FileManager.default.contents(atPath: shared.appendingPathComponent(path).path) else {
        fatalError("benchmark input \(path) not found under \(shared.path)")
    }
    return (name, [UInt8](data))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(5))

    for (name, bytes) in images {
        Benchmark("decode JPEG \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try ImageDecoder().decode(bytes))
            }
        }
        Benchmark("decode JPEG \(name) fast") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try ImageDecoder(scaling: .fast).decode(bytes))
            }
        }
        let decoded = try! ImageDecoder().decode(bytes).image
        let hasher = PDQHasher()
        Benchmark("PDQ \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(hasher.hash(decoded))
            }
        }
        Benchmark("PDQ \(name) dihedral") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(hasher.hash(decoded, dihedral: true))
            }
        }
        let fingerprinter = Fingerprinter()
        Benchmark("fingerprint \(name) (digests + decode + PDQ)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(fingerprinter.fingerprint(bytes: bytes))
            }
        }
    }

    let megabytes = [UInt8](repeating: 0xA5, count: 16 << 20)
    let digester = Digester()
    Benchmark("SHA-256 + SHA-1 + MD5, 16 MiB", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(megabytes.withUnsafeBytes { digester.digests(of: $0) })
        }
    }
}
