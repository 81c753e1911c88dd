import Testing
@testable import DevUpstream

@Suite struct KeyListingTests {
    /// Sorted as S3 sorts: by UTF-8 bytes ("Z" < "a" < "é").
    let keys = ["Zeta", "a/1", "a/2", "a/b/3", "b", "c/1", "é"]

    func page(prefix: String = "", delimiter: String? = nil, after: String? = nil, max: Int = 1000) -> KeyListing<Int> {
        KeyListing(sorted: keys.enumerated().map { (key: $0.element, value: $0.offset) }, prefix: prefix,
                   delimiter: delimiter, after: after, maxKeys: max)
    }

    func describe(_ listing: KeyListing<Int>) -> [String] {
        listing.items.map {
            switch $0 {
            case .entry(let key, _): key
            case .commonPrefix(let prefix): "[\(prefix)]"
            }
        }
    }

    @Test func withoutDelimiterEveryKeyUnderThePrefix() {
        #expect(describe(page()) == keys)
        #expect(describe(page(prefix: "a/")) == ["a/1", "a/2", "a/b/3"])
    }

    @Test func delimiterRollsUpCommonPrefixes() {
        #expect(describe(page(delimiter: "/")) == ["Zeta", "[a/]", "b", "[c/]", "é"])
        #expect(describe(page(prefix: "a/", delimiter: "/")) == ["a/1", "a/2", "[a/b/]"])
        #expect(describe(page(delimiter: "/b/")) == ["Zeta", "a/1", "a/2", "[a/b/]", "b", "c/1", "é"])
    }

    @Test func pagesFollowOneAnotherWithoutRepeats() {
        var seen: [String] = []
        var marker: String?
        for _ in 0..<10 {
            let listing = page(delimiter: "/", after: marker, max: 2)
            seen += describe(listing)
            guard listing.isTruncated else { break }
            marker = listing.lastKey
        }
        #expect(seen == ["Zeta", "[a/]", "b", "[c/]", "é"])
    }

    @Test func markerIsExclusiveAndComparedAsBytes() {
        #expect(describe(page(after: "a/2")) == ["a/b/3", "b", "c/1", "é"])
        #expect(describe(page(after: "c")) == ["c/1", "é"])
        #expect(describe(page(after: "é")) == [])
    }

    @Test func maxKeysCountsPrefixesAndTruncates() {
        let listing = page(delimiter: "/", max: 2)
        #expect(describe(listing) == ["Zeta", "[a/]"])
        #expect(listing.isTruncated)
        #expect(!page(delimiter: "/", max: 5).isTruncated)
        #expect(describe(page(max: 0)) == [])
    }
}

@Suite struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-4", ByteRange.partial(0..<5)),
        ("bytes=5-", .partial(5..<10)),
        ("bytes=-3", .partial(7..<10)),
        ("bytes=-30", .partial(0..<10)),
        ("bytes=8-100", .partial(8..<10)),
        ("bytes=10-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=4-2", .whole),
        ("bytes=0-1,3-4", .whole),
        ("items=0-1", .whole),
        ("bytes=a-b", .whole),
        ("bytes=+1-2", .whole),
    ])
    func rangeHeader(header: String, expected: ByteRange) {
        #expect(ByteRange(header: header, size: 10) == expected)
    }

    @Test func emptyObject() {
        #expect(ByteRange(header: "bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange(header: "bytes=-1", size: 0) == .unsatisfiable)
        #expect(ByteRange(header: nil, size: 0) == .whole)
    }

    @Test func copySourceRange() {
        #expect(ByteRange.copySourceRange("bytes=0-9", size: 10) == 0..<10)
        #expect(ByteRange.copySourceRange("bytes=2-3", size: 10) == 2..<4)
        #expect(ByteRange.copySourceRange("bytes=0-10", size: 10) == nil)
        #expect(ByteRange.copySourceRange("bytes=3-", size: 10) == nil)
        #expect(ByteRange.copySourceRange("bytes=-3", size: 10) == nil)
    }
}
