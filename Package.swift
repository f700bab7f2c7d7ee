// swift-tools-version: 6.1
import PackageDescription

// x86-64-v2 gives Swift's nonzeroBitCount the popcnt instruction (Hamming distances) and
// stops short of v3, whose FMA contraction could change PDQ's float results.
#if arch(x86_64)
let cpuSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v2"])]
#else
let cpuSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "hashdb",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HashCore", targets: ["HashCore"]),
        .executable(name: "hashdb", targets: ["hashdb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C libraries from Debian packages (scripts/install-deps installs them).
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng16",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP", pkgConfig: "libwebp",
                       providers: [.apt(["libwebp-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // NSRL reference data sets (RDSv3) are SQLite databases.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // What Swift cannot do: setjmp/longjmp error recovery for libjpeg and libpng, prefetching.
        .target(name: "CShims", dependencies: ["CJPEG", "CPNG"]),

        .target(
            name: "HashCore",
            dependencies: [
                "CShims", "CWebP", "CCrypto", "CSQLite",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: cpuSettings),
        .executableTarget(
            name: "hashdb",
            dependencies: [
                "HashCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: cpuSettings),
        // Writes Fixtures/images and Fixtures/bad (see Fixtures/generate).
        .executableTarget(name: "generate-fixtures", dependencies: ["HashCore"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HashCoreTests", dependencies: ["HashCore", "TestSupport", "CSQLite"], swiftSettings: cpuSettings),
        .testTarget(name: "hashdbTests", dependencies: ["hashdb", "HashCore", "TestSupport"]),
    ]
)
