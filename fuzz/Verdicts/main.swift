import Foundation
import FuzzHarness

// Built like the fuzz targets, so libFuzzer's main runs first; it calls this hook before
// anything else, and the hook answers standard input and ends the process.
@_cdecl("LLVMFuzzerInitialize")
public func serveVerdicts(_ argc: UnsafeMutablePointer<CInt>?,
                          _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    SignatureVerdicts.serveStandardInput()
    exit(0)
}

// libFuzzer's main does not link without this; the hook above never returns to reach it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt { 0 }
