import Testing
@testable import Policy

@Suite struct UploadHeaderTableTests {
    /// Each header has its own slot, in declaration order: a case added to `UploadHeader`
    /// without its slot fails here, not as two headers sharing one.
    @Test func everyHeaderHasItsOwnSlotInDeclarationOrder() {
        #expect(UploadHeader.allCases.map(\.slot) == Array(UploadHeader.allCases.indices))
        #expect(UploadHeaderTable<String>.slotCount == UploadHeader.allCases.count)
    }

    @Test func valuesAreSetReadAndRemovedPerHeaderAndListedInDeclarationOrder() {
        var table = UploadHeaderTable<String>()
        #expect(table.entries.isEmpty)
        table[.metadataDirective] = "COPY"
        table[.storageClass] = "GLACIER"
        table[.kmsKeyId] = "key-1"
        #expect(table[.storageClass] == "GLACIER")
        #expect(table[.serverSideEncryption] == nil)
        table[.kmsKeyId] = nil
        #expect(table.entries.map(\.header) == [.storageClass, .metadataDirective])
        #expect(table.entries.map(\.value) == ["GLACIER", "COPY"])
        var other = UploadHeaderTable<String>()
        other[.storageClass] = "GLACIER"
        #expect(other != table)
        other[.metadataDirective] = "COPY"
        #expect(other == table)
        // Set again after a removal: the new value, in the header's place.
        table[.kmsKeyId] = "key-2"
        table[.storageClass] = "STANDARD"
        #expect(table.entries.map(\.value) == ["STANDARD", "key-2", "COPY"])
        #expect(table[.kmsKeyId] == "key-2")
    }
}
