// swift-tools-version:5.4
import PackageDescription

// libFuzzer targets of obsgate (docs/fuzzing.md): a package of its own, like bench/micro,
// because every module of it is built with `-sanitize=fuzzer,address -parse-as-library`.
// The harness itself is the main package's FuzzHarness library, so that the corpora also
// run as a regression test in the normal suite; each executable here only hands
// libFuzzer's bytes to one of its entry functions. `fuzz/run.sh TARGET SECONDS` builds
// and runs one. Tools version 5.4, as swift-protobuf's FuzzTesting package has it: from 5.5
// on, SwiftPM renames an executable's `main` and links it back by name, and a module built
// with `-parse-as-library` has none (libFuzzer brings its own).
let fuzzTargets = ["signatures", "chunked", "classifier", "dialect", "policy", "form", "xml", "pipeline"]

let package = Package(
    name: "obsgate-fuzz",
    dependencies: [
        .package(name: "obsgate", path: ".."),
    ],
    targets: fuzzTargets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [.product(name: "FuzzHarness", package: "obsgate")],
            path: "Targets/\(name)"
        )
    } + [
        // Reads SigV4 requests signed by botocore as JSON lines on stdin and prints the
        // gateway's verdicts (fuzz/differential/sigv4.py drives it).
        .executableTarget(
            name: "sigv4-verdicts",
            dependencies: [.product(name: "FuzzHarness", package: "obsgate")],
            path: "Verdicts"
        ),
    ]
)
