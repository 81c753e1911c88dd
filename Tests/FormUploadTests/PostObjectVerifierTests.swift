import Foundation
import S3Core
import S3Signing
import Testing
@testable import FormUpload

/// Forms signed here (SigV4, like an SDK), varied where botocore's cannot be.
@Suite struct PostObjectVerifierTests {
    let verifier = PostObjectVerifier(settings: FormSigner.settings, secrets: FormSigner.secrets)

    func verify(_ fields: [FormField], filename: String? = "photo.png", bucket: String = "b",
                now: Date = Date()) throws(S3Error) -> VerifiedPostForm {
        try verifier.verify(fields: fields, file: FilePart(filename: filename, contentType: "image/png"),
                            bucket: bucket, now: now)
    }

    static var conditions: [Any] { [["bucket": "b"], ["starts-with", "$key", "up/"]] }

    @Test func aSignedFormVerifies() throws {
        let form = try verify(FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/${filename}")]))
        #expect(form.accessKeyId == FormSigner.accessKey)
        #expect(form.key == "up/photo.png")
        #expect(form.forwardedFields.isEmpty)
        #expect(form.headers.count == 0)
    }

    /// The key id an audit record names for a form that fails verification.
    @Test func theClaimedAccessKeyIsReadWithoutVerifying() throws {
        let signed = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/x")])
        #expect(PostObjectVerifier.claimedAccessKeyId(fields: signed) == FormSigner.accessKey)
        #expect(PostObjectVerifier.claimedAccessKeyId(fields: [FormField(name: "AWSAccessKeyId", value: "AKV2")]) == "AKV2")
        #expect(PostObjectVerifier.claimedAccessKeyId(fields: [FormField(name: "AccessKeyId", value: "AKOBS")]) == "AKOBS")
        #expect(PostObjectVerifier.claimedAccessKeyId(fields: [FormField(name: "x-amz-credential", value: "broken")]) == nil)
        #expect(PostObjectVerifier.claimedAccessKeyId(fields: [FormField(name: "key", value: "k")]) == nil)
    }

    @Test func filenameIsExpandedInEveryFieldButTheSignature() throws {
        let fields = [FormField(name: "key", value: "up/${filename}"), FormField(name: "x-amz-meta-name", value: "${filename}!")]
        let form = try verify(FormSigner.sigV4(conditions: Self.conditions + [["eq", "$x-amz-meta-name", "photo.png!"]], fields: fields))
        #expect(form.forwardedFields == [FormField(name: "x-amz-meta-name", value: "photo.png!")])
        #expect(try verify(FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/${filename}")]),
                           filename: nil).key == "up/")
    }

    @Test func aFilenameThatReintroducesTheVariableIsRefused() throws {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/${file${filename}")])
        #expect(throws: S3Error.self) { try verify(fields, filename: "name}") }
        let plain = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/${filename}")])
        #expect(throws: S3Error.self) { try verify(plain, filename: "${filename}") }
    }

    @Test func theHeadersViewMapsFormFieldsToHeaders() throws {
        let extra = [("acl", "public-read"), ("tagging", "<Tagging/>"), ("Content-Type", "image/png"),
                     ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "k1"),
                     ("x-amz-website-redirect-location", "/x"), ("x-obs-storage-class", "COLD"),
                     ("success_action_redirect", "https://example.com/done"), ("x-ignore-me", "1")]
            .map { FormField(name: $0.0, value: $0.1) }
        let conditions = Self.conditions + extra.filter { !$0.name.hasPrefix("x-ignore-") }.map { [$0.name: $0.value] as [String: String] }
        let form = try verify(FormSigner.sigV4(conditions: conditions, fields: [FormField(name: "key", value: "up/k")] + extra))
        let expected = HeaderFields([("x-amz-acl", "public-read"), ("x-amz-tagging", "<Tagging/>"), ("Content-Type", "image/png"),
                                     ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "k1"),
                                     ("x-amz-website-redirect-location", "/x"), ("x-obs-storage-class", "COLD")])
        #expect(form.headers == expected)
        #expect(form.forwardedFields.contains(FormField(name: "success_action_redirect", value: "https://example.com/done")))
    }

    @Test func anonymousFormsAreRefused() {
        #expect(throws: S3Error.accessDenied("Anonymous access is not allowed; sign the form with a gateway-issued key")) {
            try verify([FormField(name: "key", value: "k")])
        }
    }

    @Test func aFormWithoutKeyIsRefused() {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [])
        let error = #expect(throws: S3Error.self) { try verify(fields) }
        #expect(error?.message.hasPrefix("Bucket POST must contain a field named 'key'.") == true)
    }

    @Test func anUnknownKeyAWrongSecretAndAWrongRegionAreRefused() {
        let key = [FormField(name: "key", value: "up/k")]
        #expect(throws: S3Error.invalidAccessKeyId()) {
            try verify(FormSigner.sigV4(conditions: Self.conditions, fields: key, accessKey: "NOBODY"))
        }
        #expect(throws: S3Error.signatureDoesNotMatch()) {
            try verify(FormSigner.sigV4(conditions: Self.conditions, fields: key, secret: "wrong"))
        }
        let region = #expect(throws: S3Error.self) {
            try verify(FormSigner.sigV4(conditions: Self.conditions, fields: key, region: "eu-central-1"))
        }
        #expect(region?.code == "InvalidArgument")
    }

    @Test func aSignatureOfAnotherPolicyIsRefused() throws {
        let first = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k")])
        let second = FormSigner.sigV4(conditions: [["bucket": "b"], ["starts-with", "$key", ""]], fields: [FormField(name: "key", value: "anything")])
        var mixed = second
        mixed[mixed.count - 1] = first[first.count - 1] // first's signature on second's policy
        #expect(throws: S3Error.signatureDoesNotMatch()) { try verify(mixed) }
    }

    @Test func repeatedFieldsAreRefused() {
        let fields = FormSigner.sigV4(conditions: Self.conditions + [["starts-with", "$x-amz-meta-a", ""]],
                                      fields: [FormField(name: "key", value: "up/k"), FormField(name: "x-amz-meta-a", value: "1"),
                                               FormField(name: "X-Amz-Meta-A", value: "2")])
        let error = #expect(throws: S3Error.self) { try verify(fields) }
        #expect(error?.code == "InvalidArgument")
    }

    @Test func bothSignatureKindsAtOnceAreRefused() {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k"),
                                                                          FormField(name: "AWSAccessKeyId", value: FormSigner.accessKey)])
        let error = #expect(throws: S3Error.self) { try verify(fields) }
        #expect(error?.code == "InvalidArgument")
    }

    @Test func aLineBreakInAForwardedFieldIsRefused() throws {
        let fields = FormSigner.sigV4(conditions: Self.conditions + [["starts-with", "$x-amz-meta-a", ""]],
                                      fields: [FormField(name: "key", value: "up/k"), FormField(name: "x-amz-meta-a", value: "1\r\nX-Evil: 1")])
        #expect(throws: S3Error.self) { try verify(fields) }
        // Keys may contain line breaks (S3 allows any UTF-8).
        let key = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/a\nb")])
        #expect(try verify(key).key == "up/a\nb")
    }

    @Test func keysAreAtMost1024Bytes() throws {
        let long = "up/" + String(repeating: "é", count: 511) // 3 + 1022 bytes
        #expect(throws: S3Error.keyTooLong(size: 1025, maxSize: 1024)) {
            try verify(FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: long)]))
        }
        let fits = "up/" + String(repeating: "é", count: 510) + "x"
        #expect(try verify(FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: fits)])).key == fits)
    }

    @Test func theSignatureDateMustMatchTheCredential() {
        var fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k")])
        let index = fields.firstIndex { $0.name == "x-amz-date" }!
        fields[index].value = "20000101T000000Z"
        let error = #expect(throws: S3Error.self) { try verify(fields) }
        #expect(error?.code == "InvalidArgument")
    }

    @Test func aBucketFieldMustNameTheBucket() {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k"),
                                                                          FormField(name: "bucket", value: "other")])
        #expect(throws: S3Error.self) { try verify(fields) }
    }

    @Test func aFormWithAQuotedBoundaryRoundTrips() throws {
        let fields = FormSigner.sigV4(conditions: Self.conditions + [["content-length-range", 0, 10]],
                                      fields: [FormField(name: "key", value: "up/k")])
        let body = FormBody(boundary: "a b:c?d", fields: fields, file: Array("0123456789".utf8))
        let driver = FormDriver(settings: FormSigner.settings, secrets: FormSigner.secrets, bucket: "b")
        let run = driver.run(body: body.bytes, contentType: "multipart/form-data; boundary=\"a b:c?d\"", pieceSize: 5)
        #expect(run.error == nil)
        let rewriter = try #require(run.rewriter)
        #expect(rewriter.upstreamContentType == "multipart/form-data; boundary=\"a b:c?d\"")
        #expect(run.upstream.count == rewriter.upstreamContentLength)
    }

    @Test func aBodyLongerOrShorterThanItsContentLengthIsRefused() throws {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k")])
        let body = FormBody(fields: fields, file: Array("data".utf8)).bytes
        let driver = FormDriver(settings: FormSigner.settings, secrets: FormSigner.secrets, bucket: "b")
        let short = driver.run(body: body, contentType: FormBody(fields: [], file: []).contentType, contentLength: body.count + 1)
        #expect(short.stage == .finish)
        #expect(short.error?.code == "IncompleteBody")
        let long = driver.run(body: body, contentType: FormBody(fields: [], file: []).contentType, pieceSize: 50, contentLength: body.count - 1)
        #expect(long.error != nil)
        #expect(long.upstream.count < (long.rewriter?.upstreamContentLength ?? 0))
    }

    @Test func aPartAfterTheFileNeverCompletesUpstream() throws {
        let fields = FormSigner.sigV4(conditions: Self.conditions, fields: [FormField(name: "key", value: "up/k")])
        var body = FormBody(fields: fields, file: Array("data".utf8))
        body.ending = "\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nv\r\n--\(body.boundary)--\r\n"
        let driver = FormDriver(settings: FormSigner.settings, secrets: FormSigner.secrets, bucket: "b")
        let run = driver.run(body: body.bytes, contentType: body.contentType, pieceSize: 9)
        #expect(run.stage == .stream)
        #expect(run.error?.code == "InvalidArgument")
        #expect(run.upstream.count < (run.rewriter?.upstreamContentLength ?? 0))
    }
}
