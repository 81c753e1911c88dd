/// Every fuzz target's entry function by the name of its corpus folder (fuzz/corpus/NAME)
/// and its executable (`fuzz-NAME`).
public enum FuzzTargets {
    public static let entries: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "signatures": SignatureTarget.run,
        "chunked": ChunkedTarget.run,
        "classifier": ClassifierTarget.run,
        "dialect": DialectTarget.run,
        "policy": PolicyTarget.run,
        "form": FormTarget.run,
        "xml": XMLTarget.run,
        "pipeline": PipelineTarget.run,
    ]
}
