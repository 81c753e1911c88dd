import Foundation
import S3Core
import S3Signing
import Testing
@testable import FormUpload

/// Forms signed by botocore's `generate_presigned_post` (SigV4 and SigV2) and encoded by
/// urllib3: verified, rewritten for the upstream, and the upstream form verified again with
/// the upstream key.
@Suite struct BotocoreFormTests {
    static let caseIds = ["sigv4-botocore", "sigv2-botocore", "sigv4-botocore-empty-file"]

    func driver(_ form: BotocoreForms.Case, signer: UpstreamSigner? = nil) -> FormDriver {
        var driver = FormDriver(settings: form.settings, secrets: form.secrets, bucket: form.bucket)
        if let signer { driver.signer = signer }
        return driver
    }

    @Test(arguments: caseIds, [1, 7, 64, 1000, 0])
    func aBotocoreFormVerifiesAndIsRewritten(_ id: String, pieceSize: Int) throws {
        let form = try BotocoreForms.named(id)
        let run = driver(form).run(body: form.body, contentType: form.content_type, pieceSize: pieceSize)
        #expect(run.error == nil, "\(String(describing: run.error)) at \(run.stage)")
        let verified = try #require(run.verified)
        #expect(verified.accessKeyId == form.access_key)
        #expect(verified.scheme == (form.signature_version == "s3v4" ? .sigV4 : .sigV2))
        #expect(verified.key == form.expected_key)
        let rewriter = try #require(run.rewriter)
        #expect(run.upstream.count == rewriter.upstreamContentLength)
        #expect(rewriter.fileSize == form.file.count)
        // Content-Length arithmetic: the file bytes and the closing delimiter are the client's.
        let clientSuffix = form.file + Array("\r\n--\(form.boundary)--\r\n".utf8)
        #expect(Array(run.upstream.suffix(clientSuffix.count)) == clientSuffix)
        #expect(Array(run.upstream.prefix(rewriter.upstreamPrefix.count)) == rewriter.upstreamPrefix)
    }

    @Test func theSigV4FormExposesItsPolicyRelevantFieldsAsHeaders() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        let verified = try #require(driver(form).run(body: form.body, contentType: form.content_type).verified)
        let headers = verified.headers
        #expect(headers["x-amz-acl"] == "private")
        #expect(headers["content-type"] == "image/png")
        #expect(headers["x-amz-meta-origin"] == "browser upload")
        #expect(headers["x-amz-storage-class"] == "STANDARD_IA")
        #expect(headers["x-amz-server-side-encryption"] == "AES256")
        #expect(!headers.contains("success_action_status"))
        #expect(!headers.contains("policy") && !headers.contains("x-amz-signature") && !headers.contains("x-amz-credential"))
        #expect(verified.forwardedFields.map(\.name) == ["acl", "Content-Type", "x-amz-meta-origin", "x-amz-storage-class",
                                                         "x-amz-server-side-encryption", "success_action_status"])
        #expect(verified.contentLengthRange == SizeRange(min: 1, max: 8192))
        #expect(verified.file.basename == "holiday photo.png")
    }

    /// The upload policy's changes to a form (#15): a field it sets replaces the client's, in
    /// either spelling (`acl` and `x-amz-acl` both mean the header `x-amz-acl`); one it
    /// removes is gone in either spelling too.
    @Test func thePolicysChangesReachTheFormsFieldsInEitherSpelling() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        let verified = try #require(driver(form).run(body: form.body, contentType: form.content_type).verified)
        let set = verified.settingField(ofHeader: "x-amz-acl", to: "bucket-owner-full-control")
        #expect(set.forwardedFields.filter { $0.name.lowercased().hasSuffix("acl") }.map(\.value) == ["bucket-owner-full-control"])
        #expect(set.headers["x-amz-acl"] == "bucket-owner-full-control")
        #expect(!verified.removingField(ofHeader: "x-amz-acl").forwardedFields.contains { $0.name == "acl" })
        #expect(!verified.removingField(ofHeader: "X-Amz-Storage-Class").forwardedFields.contains { $0.name == "x-amz-storage-class" })
    }

    @Test(arguments: caseIds, [UpstreamSigner.Scheme.v4, .v2])
    func theUpstreamFormVerifiesWithTheUpstreamKey(_ id: String, scheme: UpstreamSigner.Scheme) throws {
        let form = try BotocoreForms.named(id)
        let upstreamSigner = UpstreamSigner(scheme: scheme, credentials: FormDriver.upstreamCredentials, region: "upstream-1")
        let first = driver(form, signer: upstreamSigner).run(body: form.body, contentType: form.content_type, pieceSize: 100)
        #expect(first.error == nil, "\(String(describing: first.error))")
        let rewriter = try #require(first.rewriter)
        let verified = try #require(first.verified)

        // The upstream's view: its own key, its own region; the same content type.
        var upstream = FormDriver(settings: AuthenticationSettings(regions: ["upstream-1"]),
                                  secrets: Secrets([FormDriver.upstreamCredentials.accessKeyId: FormDriver.upstreamCredentials.secretAccessKey]),
                                  bucket: form.bucket)
        upstream.signer = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(accessKeyId: "X", secretAccessKey: "Y"), region: "r")
        let second = upstream.run(body: first.upstream, contentType: rewriter.upstreamContentType, pieceSize: 7)
        #expect(second.error == nil, "\(String(describing: second.error))")
        let again = try #require(second.verified)
        #expect(again.accessKeyId == FormDriver.upstreamCredentials.accessKeyId)
        #expect(again.scheme == (scheme == .v4 ? .sigV4 : .sigV2))
        #expect(again.key == verified.key)
        #expect(again.forwardedFields == verified.forwardedFields)
        #expect(again.headers == verified.headers)
        #expect(again.file.basename == verified.file.basename)
        let range = try #require(again.contentLengthRange)
        #expect(range.min == (verified.contentLengthRange?.min ?? 0))
        #expect(range.max <= (verified.contentLengthRange?.max ?? Int.max))
        #expect(range.max >= form.file.count)
        // The file, byte for byte: the second rewrite's output ends with it and the closing delimiter.
        let clientSuffix = form.file + Array("\r\n--\(form.boundary)--\r\n".utf8)
        #expect(Array(second.upstream.suffix(clientSuffix.count)) == clientSuffix)
        #expect(second.rewriter?.fileSize == form.file.count)
    }

    @Test func anOBSUpstreamGetsAccessKeyIdAndAnHMACSHA1Signature() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        let credentials = SigningCredentials(accessKeyId: "OBSKEY", secretAccessKey: "obs-secret", sessionToken: "tok")
        let run = driver(form, signer: UpstreamSigner(scheme: .obs, credentials: credentials, region: "cn-north-4"))
            .run(body: form.body, contentType: form.content_type)
        let rewriter = try #require(run.rewriter)
        let fields = rewriter.upstreamFields
        let value = { (name: String) in fields.first { $0.name == name }?.value }
        #expect(value("AccessKeyId") == "OBSKEY")
        #expect(value("x-obs-security-token") == "tok")
        let policy = try #require(value("policy"))
        #expect(value("signature") == HMACV1.signature(secret: "obs-secret", stringToSign: policy))
        let document = try PostPolicy(base64: policy)
        #expect(document.conditions.contains(.equals(field: "x-obs-security-token", value: "tok")))
        #expect(!document.conditions.contains { if case .equals("AccessKeyId", _) = $0 { true } else { false } })
    }

    @Test func theUpstreamPolicyPinsEveryFieldTheBucketAndTheSize() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        let now = Date()
        var driver = driver(form)
        driver.now = now
        let run = driver.run(body: form.body, contentType: form.content_type)
        let rewriter = try #require(run.rewriter)
        let policy = try PostPolicy(base64: try #require(rewriter.upstreamFields.first { $0.name == "policy" }?.value))
        #expect(abs(policy.expiration.timeIntervalSince(now) - PostObjectRewriter.defaultPolicyLifetime) < 1)
        #expect(policy.conditions.contains(.equals(field: "bucket", value: "photos")))
        #expect(policy.conditions.contains(.equals(field: "key", value: form.expected_key)))
        for field in try #require(run.verified).forwardedFields {
            #expect(policy.conditions.contains(.equals(field: field.name, value: field.value)))
        }
        let credential = try #require(rewriter.upstreamFields.first { $0.name == "x-amz-credential" }?.value)
        #expect(credential.hasPrefix("UPSTREAMKEY000000001/") && credential.hasSuffix("/upstream-1/s3/aws4_request"))
        // The client allowed 1...8192; the Content-Length leaves at most file + epilogue.
        #expect(policy.contentLengthRange == SizeRange(min: 1, max: form.file.count + 2))
        #expect(rewriter.allowedSizes == SizeRange(min: 1, max: 8192))
    }

    // MARK: Refusals

    @Test(arguments: caseIds)
    func everyTamperedFieldIsRefused(_ id: String) throws {
        let form = try BotocoreForms.named(id)
        for (index, field) in form.formFields.enumerated() {
            // A prefix breaks starts-with conditions too (botocore turns a ${filename} key
            // into ["starts-with", "$key", "user/alice/"]).
            var fields = form.formFields
            fields[index].value = "x" + field.value
            let body = FormBody(boundary: form.boundary, fields: fields, filename: form.filename, file: form.file)
            let run = driver(form).run(body: body.bytes, contentType: body.contentType)
            #expect(run.verified == nil, "tampering with \(field.name) was not noticed")
            let error = try #require(run.error)
            #expect([400, 403].contains(error.status))
            switch field.name.asciiLowercased {
            case "policy", "signature", "x-amz-signature":
                #expect(error.code == "SignatureDoesNotMatch", "\(field.name): \(error)")
            case "x-amz-credential", "awsaccesskeyid":
                #expect(error.code == "InvalidAccessKeyId" || error.code == "InvalidArgument", "\(field.name): \(error)")
            case "x-amz-algorithm", "x-amz-date":
                #expect(error.code == "InvalidArgument", "\(field.name): \(error)")
            default:
                #expect(error.code == "AccessDenied" && error.message.hasPrefix("Invalid according to Policy: Policy Condition failed"),
                        "\(field.name): \(error)")
            }
        }
    }

    @Test(arguments: caseIds)
    func everyRemovedFieldIsRefused(_ id: String) throws {
        let form = try BotocoreForms.named(id)
        for index in form.formFields.indices {
            var fields = form.formFields
            let removed = fields.remove(at: index)
            let body = FormBody(boundary: form.boundary, fields: fields, filename: form.filename, file: form.file)
            let run = driver(form).run(body: body.bytes, contentType: body.contentType)
            #expect(run.verified == nil, "removing \(removed.name) was not noticed")
            #expect(run.error != nil)
        }
    }

    @Test func aFormForAnotherBucketIsRefused() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        var driver = driver(form)
        driver.bucket = "other"
        let run = driver.run(body: form.body, contentType: form.content_type)
        #expect(run.error == S3Error.accessDenied("Invalid according to Policy: Policy Condition failed: [\"eq\", \"$bucket\", \"photos\"]"))
    }

    @Test(arguments: caseIds)
    func anExpiredPolicyIsRefused(_ id: String) throws {
        let form = try BotocoreForms.named(id)
        let policy = try PostPolicy(json: Data(form.policy_json.utf8))
        var driver = driver(form)
        driver.now = policy.expiration.addingTimeInterval(1)
        let run = driver.run(body: form.body, contentType: form.content_type)
        #expect(run.error == S3Error.accessDenied("Invalid according to Policy: Policy expired."))
        driver.now = policy.expiration
        #expect(driver.run(body: form.body, contentType: form.content_type).error == nil)
    }

    @Test(arguments: caseIds)
    func aFieldTheSignedPolicyDoesNotCoverIsRefused(_ id: String) throws {
        let form = try BotocoreForms.named(id)
        var fields = form.formFields
        fields.insert(FormField(name: "x-amz-website-redirect-location", value: "/elsewhere"), at: 0)
        let body = FormBody(boundary: form.boundary, fields: fields, filename: form.filename, file: form.file)
        let run = driver(form).run(body: body.bytes, contentType: body.contentType)
        #expect(run.error == S3Error.accessDenied("Invalid according to Policy: Extra input fields: x-amz-website-redirect-location"))

        // x-ignore- fields need no condition, and are not forwarded.
        fields[0] = FormField(name: "x-ignore-flash-filename", value: "anything")
        let ignored = FormBody(boundary: form.boundary, fields: fields, filename: form.filename, file: form.file)
        let accepted = driver(form).run(body: ignored.bytes, contentType: ignored.contentType)
        #expect(accepted.error == nil)
        #expect(accepted.verified?.forwardedFields.contains { $0.name.hasPrefix("x-ignore-") } == false)
    }

    @Test func aFileLargerThanTheRangeIsRefusedBeforeAnythingIsSent() throws {
        let form = try BotocoreForms.named("sigv4-botocore") // content-length-range 1...8192
        let body = FormBody(boundary: form.boundary, fields: form.formFields, filename: form.filename,
                            file: [UInt8](repeating: 0x41, count: 9300))
        let run = driver(form).run(body: body.bytes, contentType: body.contentType)
        #expect(run.stage == .rewriterInit)
        #expect(run.error?.code == "EntityTooLarge")
    }

    @Test func aFileThatOutgrowsTheRangeIsRefusedWhileStreaming() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        // 8192 + 500 bytes: the Content-Length alone cannot rule it out (the epilogue may be
        // up to 1 KiB), so the file is stopped at its 8193rd byte.
        let body = FormBody(boundary: form.boundary, fields: form.formFields, filename: form.filename,
                            file: [UInt8](repeating: 0x41, count: 8692))
        let run = driver(form).run(body: body.bytes, contentType: body.contentType, pieceSize: 1000)
        #expect(run.stage == .stream)
        #expect(run.error?.code == "EntityTooLarge")
        let rewriter = try #require(run.rewriter)
        #expect(run.upstream.count <= rewriter.upstreamPrefix.count + 8192)
        #expect(run.upstream.count < rewriter.upstreamContentLength)
    }

    @Test func aFileSmallerThanTheRangeIsRefusedAtTheEndWithoutItsClosingDelimiter() throws {
        let form = try BotocoreForms.named("sigv4-botocore") // min 1
        let body = FormBody(boundary: form.boundary, fields: form.formFields, filename: form.filename, file: [])
        let run = driver(form).run(body: body.bytes, contentType: body.contentType, pieceSize: 3)
        #expect(run.stage == .finish)
        #expect(run.error == S3Error.entityTooSmall(proposedSize: 0, minSizeAllowed: 1))
        let rewriter = try #require(run.rewriter)
        // Nothing of the closing delimiter left: the upstream body stays incomplete.
        #expect(run.upstream == rewriter.upstreamPrefix)
        #expect(run.upstream.count < rewriter.upstreamContentLength)
    }

    @Test func aBoundarySplitAtEveryOffsetStillParses() throws {
        let form = try BotocoreForms.named("sigv2-botocore")
        let body = form.body
        let reference = driver(form).run(body: body, contentType: form.content_type)
        #expect(reference.error == nil)
        for cut in 1..<body.count {
            let run = driver(form).run(body: body, contentType: form.content_type, cuts: [cut])
            #expect(run.error == nil, "cut at \(cut): \(String(describing: run.error))")
            #expect(run.upstream.count == reference.upstream.count, "cut at \(cut)")
            if run.upstream.count != reference.upstream.count { return }
        }
    }

    @Test func theClosingDelimiterCutIntoSingleBytesAroundTheEnd() throws {
        let form = try BotocoreForms.named("sigv4-botocore")
        let body = form.body
        let tail = body.count - (form.boundary.utf8.count + 12)
        let run = driver(form).run(body: body, contentType: form.content_type, cuts: Array(tail..<body.count))
        #expect(run.error == nil)
        #expect(run.rewriter?.fileSize == form.file.count)
    }
}
