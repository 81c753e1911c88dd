import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    SignatureTarget.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
