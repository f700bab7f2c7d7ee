// swift-tools-version: 6.1
// Benchmarks, kept out of the main package and out of CI: `cd Benchmarks && swift package benchmark`.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which is whatever the checkout is called.
let hashdbIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "hashdb-benchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HashCoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HashCore", package: hashdbIdentity),
            ],
            path: "Benchmarks/HashCoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // Side-by-side tools: run by the compare-* scripts next to this file.
        .executableTarget(
            name: "exact-lookup",
            dependencies: [.product(name: "HashCore", package: hashdbIdentity)],
            path: "Tools/ExactLookup",
            swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v2"])]),
        .executableTarget(
            name: "near-search",
            dependencies: [.product(name: "HashCore", package: hashdbIdentity)],
            path: "Tools/NearSearch",
            swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v2"])]),
    ]
)
