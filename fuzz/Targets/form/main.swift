import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FormTarget.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
