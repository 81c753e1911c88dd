import Foundation
import S3Core
import S3Signing
import Testing
@testable import FormUpload

/// A form's fields reach the upstream in its dialect, as request headers do: an OBS-dialect
/// encryption field sent to an S3 store under its OBS name would be ignored there, and the
/// object stored unencrypted although the policy judged it encrypted.
@Suite struct FormDialectTests {
    @Test func obsFieldsAreTranslatedForAnS3Upstream() throws {
        let run = FormRun.signed([FormField(name: "x-obs-server-side-encryption", value: "kms"),
                            FormField(name: "x-obs-server-side-encryption-kms-key-id", value: "testkey-1"),
                            FormField(name: "x-obs-storage-class", value: "WARM")], upstream: .s3)
        let fields = try #require(run.rewriter).upstreamFields
        let value = { (name: String) in fields.first { $0.name == name }?.value }
        #expect(value("x-amz-server-side-encryption") == "aws:kms")
        #expect(value("x-amz-server-side-encryption-aws-kms-key-id") == "testkey-1")
        #expect(value("x-amz-storage-class") == "STANDARD_IA")
        #expect(!fields.contains { $0.name.hasPrefix("x-obs-") })
        // The upstream policy pins the fields as they are sent.
        let policy = try PostPolicy(base64: try #require(value("policy")))
        #expect(policy.conditions.contains(.equals(field: "x-amz-server-side-encryption", value: "aws:kms")))
    }

    @Test func s3FieldsAreTranslatedForAnOBSUpstream() throws {
        let run = FormRun.signed([FormField(name: "x-amz-server-side-encryption", value: "aws:kms")], upstream: .obs)
        let fields = try #require(run.rewriter).upstreamFields
        #expect(fields.contains(FormField(name: "x-obs-server-side-encryption", value: "kms")))
    }

    @Test func aValueWithNoEquivalentIsRefused() {
        let run = FormRun.signed([FormField(name: "x-amz-storage-class", value: "REDUCED_REDUNDANCY")], upstream: .obs)
        #expect(run.error?.code == "InvalidStorageClass")
        #expect(run.stage == .rewriterInit)
    }
}
