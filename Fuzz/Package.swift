// swift-tools-version: 6.1
// libFuzzer targets for HashCore: built with -sanitize=fuzzer,address by scripts/fuzz, which
// also seeds each corpus from Fixtures/ and runs them. Kept out of the main package so that its
// builds never carry the fuzzer's instrumentation.
import PackageDescription

let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "hashdb-fuzz",
    dependencies: [.package(name: "hashdb", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "HashCore", package: "hashdb")]),
        .executableTarget(name: "FuzzImage", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzDatabase", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzList", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzHex", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzRequest", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzVideo", dependencies: ["FuzzSupport"], swiftSettings: fuzzSettings),
    ]
)
