/// How a harness reports an invariant the gateway broke. Under libFuzzer a violation must
/// end the process, because a crash is what libFuzzer records as a finding (with the input
/// that caused it); the corpus replay test binds a reporter that records an issue instead,
/// so that one bad corpus file fails its test rather than the whole test process.
public enum Invariant {
    @TaskLocal public static var reporter: @Sendable (String) -> Void = { message in
        fatalError("fuzz invariant violated: \(message)")
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { reporter(message()) }
    }
}
