import Foundation
import S3Core
import Testing
@testable import FormUpload

@Suite struct PostPolicyTests {
    func policy(_ json: String) throws(S3Error) -> PostPolicy { try PostPolicy(json: Data(json.utf8)) }

    /// The policy of the AWS S3 API reference's "Example: Browser-Based Upload using HTTP POST".
    static let awsExample = """
        { "expiration": "2015-12-30T12:00:00.000Z",
          "conditions": [
            {"bucket": "sigv4examplebucket"},
            ["starts-with", "$key", "user/user1/"],
            {"acl": "public-read"},
            {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
            ["starts-with", "$Content-Type", "image/"],
            {"x-amz-meta-uuid": "14365123651274"},
            {"x-amz-server-side-encryption": "AES256"},
            ["starts-with", "$x-amz-meta-tag", ""],
            {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-date": "20151229T000000Z" }
          ]
        }
        """

    static let awsExampleFields = [
        ("key", "user/user1/${filename}"), ("acl", "public-read"),
        ("success_action_redirect", "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"),
        ("Content-Type", "image/jpeg"), ("x-amz-meta-uuid", "14365123651274"),
        ("x-amz-server-side-encryption", "AES256"),
        ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Date", "20151229T000000Z"),
        ("x-amz-meta-tag", ""), ("Policy", "…"), ("X-Amz-Signature", "…"),
    ].map { FormField(name: $0.0, value: $0.1) }

    @Test func theAWSExampleParses() throws {
        let parsed = try policy(Self.awsExample)
        #expect(parsed.expiration == Date(timeIntervalSince1970: 1_451_476_800))
        #expect(parsed.conditions.count == 11)
        #expect(parsed.conditions[1] == .startsWith(field: "key", prefix: "user/user1/"))
        #expect(parsed.contentLengthRange == nil)
        // Field names match case-insensitively (the example's form writes X-Amz-Credential).
        try parsed.check(fields: Self.awsExampleFields.map { $0.name == "key" ? FormField(name: "key", value: "user/user1/a.jpg") : $0 },
                         bucket: "sigv4examplebucket", exempt: ["policy", "x-amz-signature"])
    }

    @Test func expirationIsCheckedAgainstNow() throws {
        let parsed = try policy(Self.awsExample)
        try parsed.checkExpiration(now: Date(timeIntervalSince1970: 1_451_476_800), maxLifetime: 604_800)
        #expect(throws: S3Error.accessDenied("Invalid according to Policy: Policy expired.")) {
            try parsed.checkExpiration(now: Date(timeIntervalSince1970: 1_451_476_800.5), maxLifetime: 604_800)
        }
        // A policy valid for longer than the gateway's limit is refused like an expired one.
        try parsed.checkExpiration(now: Date(timeIntervalSince1970: 1_451_476_800 - 604_800), maxLifetime: 604_800)
        let error = #expect(throws: S3Error.self) {
            try parsed.checkExpiration(now: Date(timeIntervalSince1970: 1_451_476_800 - 604_801), maxLifetime: 604_800)
        }
        #expect(error?.code == "AccessDenied")
        #expect(PostPolicy.parseExpiration("2015-12-30T12:00:00Z") == Date(timeIntervalSince1970: 1_451_476_800))
        #expect(PostPolicy.parseExpiration("2015-12-30T12:00:00.25Z") == Date(timeIntervalSince1970: 1_451_476_800.25))
        #expect(PostPolicy.parseExpiration("2015-12-30T12:00:00") == nil)
        #expect(PostPolicy.parseExpiration("2015-12-30 12:00:00Z") == nil)
        #expect(PostPolicy.parseExpiration("2015-02-30T12:00:00Z") == nil)
        #expect(PostPolicy.formatExpiration(Date(timeIntervalSince1970: 1_451_476_800)) == "2015-12-30T12:00:00Z")
    }

    @Test func conditionsAreChecked() throws {
        let parsed = try policy("""
            {"expiration": "2030-01-01T00:00:00Z", "conditions": [
              {"bucket": "b"}, {"acl": "private"}, ["eq", "$x-amz-storage-class", "STANDARD"], ["starts-with", "$key", "u/"],
              ["starts-with", "$Content-Type", "image/"], ["content-length-range", 10, "100"]]}
            """)
        let good = [("acl", "private"), ("x-amz-storage-class", "STANDARD"), ("key", "u/a"), ("Content-Type", "image/png, image/gif")]
            .map { FormField(name: $0.0, value: $0.1) }
        try parsed.check(fields: good, bucket: "b", exempt: [])
        #expect(parsed.contentLengthRange == SizeRange(min: 10, max: 100))

        func failure(_ name: String, _ value: String) -> S3Error? {
            var fields = good
            if let index = fields.firstIndex(where: { $0.name == name }) { fields[index].value = value }
            do { try parsed.check(fields: fields, bucket: "b", exempt: []); return nil } catch { return error }
        }
        #expect(failure("acl", "public-read") == S3Error.accessDenied("Invalid according to Policy: Policy Condition failed: [\"eq\", \"$acl\", \"private\"]"))
        #expect(failure("x-amz-storage-class", "GLACIER")?.message == "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$x-amz-storage-class\", \"STANDARD\"]")
        #expect(failure("key", "v/a")?.code == "AccessDenied")
        #expect(failure("Content-Type", "image/png, text/html")?.code == "AccessDenied")
        // A missing field is "", which an exact condition does not match.
        #expect(throws: S3Error.self) { try parsed.check(fields: Array(good.dropFirst()), bucket: "b", exempt: []) }
    }

    @Test func everyFieldMustBeCovered() throws {
        let parsed = try policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": "k"}, {"bucket": "b"}]}"#)
        let fields = [("key", "k"), ("policy", "p"), ("x-amz-signature", "s"), ("x-ignore-a", "1"), ("X-Amz-Meta-A", "2"), ("acl", "private")]
            .map { FormField(name: $0.0, value: $0.1) }
        #expect(throws: S3Error.accessDenied("Invalid according to Policy: Extra input fields: X-Amz-Meta-A, acl")) {
            try parsed.check(fields: fields, bucket: "b", exempt: ["policy", "x-amz-signature"])
        }
    }

    /// The bucket comes from the URL, but it is an input like the fields: a policy that
    /// does not name it is good for any bucket, and S3 refuses it.
    @Test func aPolicyMustNameTheBucket() throws {
        let parsed = try policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": "k"}]}"#)
        #expect(throws: S3Error.accessDenied("Invalid according to Policy: Extra input fields: bucket")) {
            try parsed.check(fields: [FormField(name: "key", value: "k")], bucket: "b", exempt: [])
        }
    }

    /// `{}` is no condition, and `{"a": "1", "b": "2"}` two in one: S3 refuses both as malformed.
    @Test(arguments: [#"[{}]"#, #"[{"acl": "private", "key": "k"}]"#])
    func aSimpleConditionHasExactlyOneProperty(_ conditions: String) throws {
        #expect(throws: S3Error.invalidPolicyDocument("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")) {
            try policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": "# + conditions + "}")
        }
    }

    @Test func theBucketConditionIsTheRequestsBucket() throws {
        let parsed = try policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "mine"}]}"#)
        try parsed.check(fields: [], bucket: "mine", exempt: [])
        #expect(throws: S3Error.self) { try parsed.check(fields: [FormField(name: "bucket", value: "mine")], bucket: "theirs", exempt: []) }
    }

    @Test func overlappingRangesIntersect() throws {
        let parsed = try policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0, 100], ["content-length-range", 50, 200]]}"#)
        let range = try #require(parsed.contentLengthRange)
        #expect(range == SizeRange(min: 50, max: 100))
        try range.check(50)
        try range.check(100)
        #expect(throws: S3Error.entityTooSmall(proposedSize: 49, minSizeAllowed: 50)) { try range.check(49) }
        #expect(throws: S3Error.entityTooLarge(proposedSize: 101, maxSizeAllowed: 100)) { try range.check(101) }
    }

    @Test(arguments: [
        "not json",
        "[]",
        #"{"conditions": []}"#,
        #"{"expiration": "tomorrow", "conditions": []}"#,
        #"{"expiration": 5, "conditions": []}"#,
        #"{"expiration": "2030-01-01T00:00:00Z"}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": {}}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [5]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"acl": 5}]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "acl", "x"]]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$acl"]]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["ends-with", "$acl", "x"]]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 5]]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 1.5, 5]]}"#,
        #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", true, 5]]}"#,
    ])
    func invalidDocumentsAreRefused(_ json: String) {
        let error = #expect(throws: S3Error.self) { try policy(json) }
        #expect(error?.code == "InvalidPolicyDocument")
        #expect(error?.status == 400)
    }

    @Test func theBase64FormIgnoresLineBreaks() throws {
        let text = Data(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": "k"}]}"#.utf8).base64EncodedString()
        let wrapped = String(text.prefix(20)) + "\r\n" + String(text.dropFirst(20))
        #expect(try PostPolicy(base64: wrapped).conditions == [.equals(field: "key", value: "k")])
        #expect(throws: S3Error.self) { try PostPolicy(base64: "!!!") }
    }
}
