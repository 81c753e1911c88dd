import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    ChunkedTarget.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
