// swift-tools-version:6.1
import PackageDescription

// Versions are the ones this project's package mirror holds; swift-nio must be at least
// 2.101.3 (header-limit and request-smuggling advisories were fixed there).
let package = Package(
    name: "obsgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "obsgate", targets: ["obsgate"]),
        // The modules, for the micro-benchmarks of bench/micro (a package of its own, so
        // that the benchmark library stays out of this build).
        .library(name: "ObsgateModules",
                 targets: ["S3Core", "S3Signing", "Credentials", "YAMLConfig", "Policy", "Audit", "FormUpload", "Gateway",
                           "EmbeddedGateway"]),
        // The fuzz targets' harness, for the libFuzzer executables of fuzz/ (a package of its
        // own: every module of it is built with the fuzzer's instrumentation).
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Optional OpenTelemetry traces (`tracing.otlp`): OTLP over HTTP only, so the gRPC
        // stack stays out of the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        // Pure modules: no I/O, exhaustively unit-tested.
        .target(name: "S3Core"),
        .target(
            name: "S3Signing",
            dependencies: ["S3Core", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "FormUpload",
            dependencies: ["S3Core", "S3Signing", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "YAMLConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Credentials", dependencies: ["S3Signing", "YAMLConfig"]),
        .target(
            name: "Policy",
            dependencies: ["S3Core", "YAMLConfig", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Audit records, redaction, the hash chain and its verifier, and the writer thread
        // with its file and stdout sinks (the one module besides Gateway that does I/O).
        .target(
            name: "Audit",
            dependencies: ["S3Core", "YAMLConfig", "Policy", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "S3Core", "S3Signing", "Credentials", "YAMLConfig", "Policy", "FormUpload", "Audit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // In-memory S3 store for development, tests and benchmarks; not a product.
        .target(
            name: "DevUpstream",
            dependencies: [
                "S3Core", "S3Signing",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "obsgate",
            dependencies: [
                "S3Core", "S3Signing", "Credentials", "Gateway", "YAMLConfig", "DevUpstream", "Policy", "Audit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A client connection's whole pipeline on embedded channels, for the pipeline tests,
        // the pipeline fuzz target and bench/micro; not part of the obsgate executable.
        .target(
            name: "EmbeddedGateway",
            dependencies: [
                "Gateway", "Audit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // The fuzz targets' entry functions (docs/fuzzing.md): here, so that their corpora run
        // as a regression test in this suite (FuzzHarnessTests) as well as under libFuzzer.
        .target(
            name: "FuzzHarness",
            dependencies: [
                "S3Core", "S3Signing", "Credentials", "Policy", "FormUpload", "Gateway", "EmbeddedGateway",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "fuzz/Harness"
        ),
        // Helpers several test targets share (running programs with a time limit).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "S3CoreTests", dependencies: ["S3Core", "TestSupport"]),
        .testTarget(
            name: "S3SigningTests",
            dependencies: ["S3Signing", "S3Core", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Differential"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FormUploadTests",
            dependencies: ["FormUpload", "S3Core", "S3Signing", "TestSupport"],
            exclude: ["Generator"]
        ),
        .testTarget(name: "CredentialsTests", dependencies: ["Credentials", "YAMLConfig"]),
        .testTarget(name: "YAMLConfigTests", dependencies: ["YAMLConfig"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "S3Core", "YAMLConfig"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Policy", "S3Core", "YAMLConfig", "TestSupport"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "EmbeddedGateway", "S3Core", "S3Signing", "Credentials", "DevUpstream", "Policy", "YAMLConfig", "Audit",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Clients"]
        ),
        .testTarget(name: "FuzzHarnessTests", dependencies: ["FuzzHarness", "TestSupport"]),
        .testTarget(
            name: "DevUpstreamTests",
            dependencies: [
                "DevUpstream", "S3Core", "S3Signing", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
