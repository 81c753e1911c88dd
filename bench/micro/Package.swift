// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of obsgate's hot path (bench/README.md, "bench/micro"): a package of its
// own so that the benchmark library and its allocation counter stay out of the gateway's
// build. `swift package --disable-sandbox benchmark` from this folder runs them.
let package = Package(
    name: "obsgate-micro-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "obsgate", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // A bare SwiftNIO HTTP/1.1 server and proxy: the framework's floor under the gateway.
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/NIOFloor",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "GatewayBenchmarks",
            dependencies: [
                .product(name: "ObsgateModules", package: "obsgate"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/GatewayBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
