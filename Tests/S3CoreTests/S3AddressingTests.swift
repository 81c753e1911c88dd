import Testing
@testable import S3Core

struct AddressCase: Sendable, CustomTestStringConvertible {
    let host: String?
    let target: String
    let style: AddressingStyle
    let bucket: String?
    let key: String?
    let resource: String

    init(_ host: String?, _ target: String, _ style: AddressingStyle, bucket: String?, key: String?, resource: String) {
        self.host = host
        self.target = target
        self.style = style
        self.bucket = bucket
        self.key = key
        self.resource = resource
    }

    var testDescription: String { "Host: \(host ?? "<none>") \(target)" }
}

@Suite("S3Addressing")
struct S3AddressingTests {
    /// Two base domains, one of them configured in upper case.
    static let resolver = S3AddressResolver(baseDomains: ["s3.example.com", "OBS.Example.NET"])

    static func resolve(_ host: String?, _ target: String, resolver: S3AddressResolver = resolver) throws -> S3Address {
        try resolver.resolve(host: host, target: RequestTarget(parsing: target))
    }

    @Test func baseDomainsAreLowercased() {
        #expect(Self.resolver.baseDomains == ["s3.example.com", "obs.example.net"])
    }

    // MARK: - path-style

    static let pathStyle: [AddressCase] = [
        // service level
        AddressCase("s3.example.com", "/", .path, bucket: nil, key: nil, resource: "/"),
        AddressCase("s3.example.com", "/?X-Amz-Date=1", .path, bucket: nil, key: nil, resource: "/"),
        AddressCase(nil, "/", .path, bucket: nil, key: nil, resource: "/"),
        // bucket level
        AddressCase("s3.example.com", "/bucket", .path, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("s3.example.com", "/bucket/", .path, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("s3.example.com", "/bucket?acl", .path, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("s3.example.com", "/bucket/?uploads", .path, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("s3.example.com", "/my.dotted.bucket", .path, bucket: "my.dotted.bucket", key: nil, resource: "/my.dotted.bucket"),
        AddressCase("s3.example.com", "/b%2Dx", .path, bucket: "b-x", key: nil, resource: "/b-x"),
        // object level: the key is kept exactly
        AddressCase("s3.example.com", "/bucket/key", .path, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("s3.example.com", "/bucket/a+b", .path, bucket: "bucket", key: "a+b", resource: "/bucket/a+b"),
        AddressCase("s3.example.com", "/bucket/a%2Bb", .path, bucket: "bucket", key: "a+b", resource: "/bucket/a+b"),
        AddressCase("s3.example.com", "/bucket/a%20b", .path, bucket: "bucket", key: "a b", resource: "/bucket/a b"),
        AddressCase("s3.example.com", "/bucket/a%252Fb", .path, bucket: "bucket", key: "a%2Fb", resource: "/bucket/a%2Fb"),
        AddressCase("s3.example.com", "/bucket/a%2Fb", .path, bucket: "bucket", key: "a/b", resource: "/bucket/a/b"),
        AddressCase("s3.example.com", "/bucket/a%2fb", .path, bucket: "bucket", key: "a/b", resource: "/bucket/a/b"),
        AddressCase("s3.example.com", "/bucket/%2F", .path, bucket: "bucket", key: "/", resource: "/bucket//"),
        AddressCase("s3.example.com", "/bucket/a=b", .path, bucket: "bucket", key: "a=b", resource: "/bucket/a=b"),
        AddressCase("s3.example.com", "/bucket/a%3Db", .path, bucket: "bucket", key: "a=b", resource: "/bucket/a=b"),
        AddressCase("s3.example.com", "/bucket/a:b", .path, bucket: "bucket", key: "a:b", resource: "/bucket/a:b"),
        AddressCase("s3.example.com", "/bucket/a%3Ab", .path, bucket: "bucket", key: "a:b", resource: "/bucket/a:b"),
        AddressCase("s3.example.com", "/bucket/a@b", .path, bucket: "bucket", key: "a@b", resource: "/bucket/a@b"),
        AddressCase("s3.example.com", "/bucket/a%40b", .path, bucket: "bucket", key: "a@b", resource: "/bucket/a@b"),
        AddressCase("s3.example.com", "/bucket/test$file.text", .path, bucket: "bucket", key: "test$file.text", resource: "/bucket/test$file.text"),
        AddressCase("s3.example.com", "/bucket/%E2%82%AC%F0%9F%98%80", .path, bucket: "bucket", key: "€😀", resource: "/bucket/€😀"),
        AddressCase("s3.example.com", "/bucket/é", .path, bucket: "bucket", key: "é", resource: "/bucket/é"),
        AddressCase("s3.example.com", "/bucket/日本/語", .path, bucket: "bucket", key: "日本/語", resource: "/bucket/日本/語"),
        AddressCase("s3.example.com", "/bucket//key", .path, bucket: "bucket", key: "/key", resource: "/bucket//key"),
        AddressCase("s3.example.com", "/bucket///key", .path, bucket: "bucket", key: "//key", resource: "/bucket///key"),
        AddressCase("s3.example.com", "/bucket//", .path, bucket: "bucket", key: "/", resource: "/bucket//"),
        AddressCase("s3.example.com", "/bucket/dir/", .path, bucket: "bucket", key: "dir/", resource: "/bucket/dir/"),
        AddressCase("s3.example.com", "/bucket/a//b", .path, bucket: "bucket", key: "a//b", resource: "/bucket/a//b"),
        AddressCase("s3.example.com", "/bucket/.", .path, bucket: "bucket", key: ".", resource: "/bucket/."),
        AddressCase("s3.example.com", "/bucket/..", .path, bucket: "bucket", key: "..", resource: "/bucket/.."),
        AddressCase("s3.example.com", "/bucket/a/../b", .path, bucket: "bucket", key: "a/../b", resource: "/bucket/a/../b"),
        AddressCase("s3.example.com", "/bucket/key?versionId=3", .path, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("s3.example.com", "/bucket/ ", .path, bucket: "bucket", key: " ", resource: "/bucket/ "),
        // hosts that are not virtual-hosted: IP addresses, unknown names, the base itself
        AddressCase("127.0.0.1:9000", "/bucket/key", .path, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("127.0.0.1", "/bucket", .path, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("[::1]:9000", "/bucket/key", .path, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("[::1]", "/bucket/key", .path, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("[2001:db8::1]:443", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("localhost", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("s3.example.com:9000", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("S3.EXAMPLE.COM", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("obs.example.net", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("bucket.s3.other.com", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("bucket.s3.example.com.evil.com", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase("evils3.example.com", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),   // no dot boundary
        AddressCase("example.com", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase(".s3.example.com", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),      // empty bucket label
        AddressCase("", "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
        AddressCase(nil, "/b/k", .path, bucket: "b", key: "k", resource: "/b/k"),
    ]

    @Test("path-style addressing", arguments: pathStyle)
    func pathStyleAddressing(_ testCase: AddressCase) throws {
        try check(testCase)
    }

    // MARK: - virtual-hosted

    static let virtualHosted: [AddressCase] = [
        AddressCase("bucket.s3.example.com", "/", .virtualHosted, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("bucket.s3.example.com", "/?list-type=2", .virtualHosted, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("bucket.s3.example.com", "/key", .virtualHosted, bucket: "bucket", key: "key", resource: "/bucket/key"),
        AddressCase("bucket.s3.example.com", "/dir/sub/key", .virtualHosted, bucket: "bucket", key: "dir/sub/key", resource: "/bucket/dir/sub/key"),
        AddressCase("bucket.s3.example.com", "//key", .virtualHosted, bucket: "bucket", key: "/key", resource: "/bucket//key"),
        AddressCase("bucket.s3.example.com", "/dir/", .virtualHosted, bucket: "bucket", key: "dir/", resource: "/bucket/dir/"),
        AddressCase("bucket.s3.example.com", "//", .virtualHosted, bucket: "bucket", key: "/", resource: "/bucket//"),
        AddressCase("bucket.s3.example.com", "/a+b%20c", .virtualHosted, bucket: "bucket", key: "a+b c", resource: "/bucket/a+b c"),
        AddressCase("bucket.s3.example.com", "/a%252Fb", .virtualHosted, bucket: "bucket", key: "a%2Fb", resource: "/bucket/a%2Fb"),
        AddressCase("bucket.s3.example.com", "/a%2Fb", .virtualHosted, bucket: "bucket", key: "a/b", resource: "/bucket/a/b"),
        AddressCase("bucket.s3.example.com", "/%F0%9F%98%80", .virtualHosted, bucket: "bucket", key: "😀", resource: "/bucket/😀"),
        AddressCase("bucket.s3.example.com", "/a=b:c@d", .virtualHosted, bucket: "bucket", key: "a=b:c@d", resource: "/bucket/a=b:c@d"),
        // the first path segment is part of the key, not a bucket
        AddressCase("bucket.s3.example.com", "/other/key", .virtualHosted, bucket: "bucket", key: "other/key", resource: "/bucket/other/key"),
        // port stripping, case folding, dotted buckets, the second base domain
        AddressCase("bucket.s3.example.com:9000", "/k", .virtualHosted, bucket: "bucket", key: "k", resource: "/bucket/k"),
        AddressCase("bucket.s3.example.com:", "/k", .virtualHosted, bucket: "bucket", key: "k", resource: "/bucket/k"),
        AddressCase("BUCKET.S3.EXAMPLE.COM", "/k", .virtualHosted, bucket: "bucket", key: "k", resource: "/bucket/k"),
        AddressCase("Bucket.S3.Example.Com:443", "/K", .virtualHosted, bucket: "bucket", key: "K", resource: "/bucket/K"),
        AddressCase("my.dotted.bucket.s3.example.com", "/k", .virtualHosted, bucket: "my.dotted.bucket", key: "k", resource: "/my.dotted.bucket/k"),
        AddressCase("www.example.com.s3.example.com", "/index.html", .virtualHosted, bucket: "www.example.com", key: "index.html", resource: "/www.example.com/index.html"),
        AddressCase("bucket.obs.example.net", "/k", .virtualHosted, bucket: "bucket", key: "k", resource: "/bucket/k"),
        AddressCase("bucket.OBS.EXAMPLE.NET:80", "/", .virtualHosted, bucket: "bucket", key: nil, resource: "/bucket"),
        AddressCase("a.s3.example.com", "/k", .virtualHosted, bucket: "a", key: "k", resource: "/a/k"),
        // a base domain nested under another: the bucket is the label(s) in front
        AddressCase("s3.example.com.s3.example.com", "/k", .virtualHosted, bucket: "s3.example.com", key: "k", resource: "/s3.example.com/k"),
    ]

    @Test("virtual-hosted addressing", arguments: virtualHosted)
    func virtualHostedAddressing(_ testCase: AddressCase) throws {
        try check(testCase)
    }

    private func check(_ testCase: AddressCase) throws {
        let address = try Self.resolve(testCase.host, testCase.target)
        #expect(address.style == testCase.style)
        #expect(address.bucket == testCase.bucket)
        #expect(address.key.map { Array($0.utf8) } == testCase.key.map { Array($0.utf8) })
        #expect(address.resource == testCase.resource)
        #expect(address == S3Address(style: testCase.style, bucket: testCase.bucket, key: testCase.key))
    }

    // MARK: - errors

    @Test("a path-style bucket that is empty or decodes to contain '/' is 400 InvalidURI", arguments: [
        "//key", "//", "///", "/%2F", "/%2F/key", "/b%2Fc", "/b%2fc/key", "/%2Fbucket",
    ])
    func invalidPathStyleBucket(_ target: String) throws {
        let error = try #require(throws: S3Error.self) { try Self.resolve("s3.example.com", target) }
        #expect(error.code == "InvalidURI")
        #expect(error.status == 400)
        #expect(error.message == "Couldn't parse the specified URI: the bucket name in the path is not valid.")
    }

    /// The doubled slash is only an error path-style; virtual-hosted it is a key.
    @Test func doubledSlashVirtualHostedIsAKey() throws {
        let address = try Self.resolve("bucket.s3.example.com", "//key")
        #expect(address.key == "/key")
    }

    // MARK: - virtualHostedBucket and hostWithoutPort

    @Test("virtualHostedBucket", arguments: [
        ("bucket.s3.example.com", "bucket"),
        ("bucket.s3.example.com:9000", "bucket"),
        ("BUCKET.s3.example.com", "bucket"),
        ("a.b.c.s3.example.com", "a.b.c"),
        ("bucket.obs.example.net", "bucket"),
        ("s3.example.com", nil),
        ("s3.example.com:9000", nil),
        (".s3.example.com", nil),
        ("xs3.example.com", nil),
        ("bucket.s3.example.co", nil),
        ("bucket.s3.example.com.", nil),
        ("[::1]:9000", nil),
        ("10.0.0.1", nil),
        ("", nil),
    ] as [(String, String?)])
    func virtualHostedBucket(_ host: String, _ expected: String?) {
        #expect(Self.resolver.virtualHostedBucket(host: host) == expected)
    }

    @Test func noBaseDomainsMeansAlwaysPathStyle() throws {
        let resolver = S3AddressResolver(baseDomains: [])
        for host in ["bucket.s3.example.com", "s3.amazonaws.com", "x.y.z:1", "[::1]:9000"] {
            let address = try Self.resolve(host, "/b/k", resolver: resolver)
            #expect(address == S3Address(style: .path, bucket: "b", key: "k"))
        }
    }

    /// The documented rule: a Host equal to one of the configured base domains is
    /// path-style, whatever other base domains are configured. With one base domain nested
    /// under another, the resolver must neither take the nested base for a bucket nor let
    /// the order of the list decide which bucket a host names.
    @Test("overlapping base domains: longest match wins, the base itself is path-style",
          arguments: [["example.com", "s3.example.com"], ["s3.example.com", "example.com"]])
    func overlappingBaseDomains(_ bases: [String]) throws {
        let resolver = S3AddressResolver(baseDomains: bases)
        let base = try Self.resolve("s3.example.com", "/bucket/key", resolver: resolver)
        #expect(base == S3Address(style: .path, bucket: "bucket", key: "key"))
        let virtual = try Self.resolve("bucket.s3.example.com", "/key", resolver: resolver)
        #expect(virtual == S3Address(style: .virtualHosted, bucket: "bucket", key: "key"))
        let outer = try Self.resolve("bucket.example.com", "/key", resolver: resolver)
        #expect(outer == S3Address(style: .virtualHosted, bucket: "bucket", key: "key"))
    }

    @Test("hostWithoutPort", arguments: [
        ("example.com", "example.com"),
        ("example.com:80", "example.com"),
        ("example.com:", "example.com"),
        ("127.0.0.1:9000", "127.0.0.1"),
        ("[::1]", "[::1]"),
        ("[::1]:9000", "[::1]"),
        ("[2001:db8::1]:443", "[2001:db8::1]"),
        ("", ""),
        (":80", ""),
    ])
    func hostWithoutPort(_ host: String, _ expected: String) {
        #expect(S3AddressResolver.hostWithoutPort(host) == expected[...])
    }

    // MARK: - S3Address

    @Test("resource strings", arguments: [
        (S3Address(style: .path, bucket: nil, key: nil), "/"),
        (S3Address(style: .path, bucket: nil, key: "ignored"), "/"),
        (S3Address(style: .path, bucket: "b", key: nil), "/b"),
        (S3Address(style: .virtualHosted, bucket: "b", key: nil), "/b"),
        (S3Address(style: .path, bucket: "b", key: "k"), "/b/k"),
        (S3Address(style: .path, bucket: "b", key: "/k"), "/b//k"),
        (S3Address(style: .path, bucket: "b", key: "a/b/"), "/b/a/b/"),
        (S3Address(style: .path, bucket: "b", key: ""), "/b/"),
        (S3Address(style: .path, bucket: "b", key: "a b+c%2F"), "/b/a b+c%2F"),
    ])
    func resource(_ address: S3Address, _ expected: String) {
        #expect(address.resource == expected)
    }

    @Test func addressingStyleRawValues() {
        #expect(AddressingStyle.path.rawValue == "path")
        #expect(AddressingStyle.virtualHosted.rawValue == "virtual-hosted")
        #expect(AddressingStyle(rawValue: "virtual-hosted") == .virtualHosted)
        #expect(AddressingStyle(rawValue: "virtual") == nil)
    }

    @Test func addressEquality() {
        let a = S3Address(style: .path, bucket: "b", key: "k")
        #expect(a == S3Address(style: .path, bucket: "b", key: "k"))
        #expect(a != S3Address(style: .virtualHosted, bucket: "b", key: "k"))
        #expect(a != S3Address(style: .path, bucket: "b", key: nil))
        #expect(a != S3Address(style: .path, bucket: "b", key: "K"))
    }
}
