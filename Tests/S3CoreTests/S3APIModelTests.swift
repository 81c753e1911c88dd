import Foundation
import Testing
import TestSupport
@testable import S3Core

@Suite struct S3APIModelTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The committed table is exactly what the generator makes of the pinned botocore's
    /// model: nobody edited it by hand, and the script was rerun after it changed. botocore
    /// comes from scripts/install-test-deps.sh; without it the test fails with the script's
    /// error rather than skipping.
    @Test func generatedTableIsUpToDate() throws {
        let python = ProcessInfo.processInfo.environment["OBSGATE_PYTHON"] ?? "python3"
        let script = Self.repositoryRoot.appendingPathComponent("scripts/generate-s3-api-model.py")
        let table = Self.repositoryRoot.appendingPathComponent("Sources/S3Core/S3APIModel+Generated.swift")
        let result = try runProcess([python, script.path, "--check", table.path], timeout: 120)
        #expect(!result.timedOut, "generate-s3-api-model.py --check timed out")
        #expect(result.status == 0, """
            S3APIModel+Generated.swift differs from the generator's output (exit \(result.status)); \
            run `python3 scripts/generate-s3-api-model.py Sources/S3Core/S3APIModel+Generated.swift`:
            \(result.stdout.prefix(20_000))
            \(result.stderr.suffix(2000))
            """)
    }

    @Test func versions() {
        #expect(S3APIModel.botocoreVersion == "1.43.11")
        #expect(S3APIModel.apiVersion == "2006-03-01")
    }

    @Test func namesAreUnique() {
        let names = S3APIModel.operations.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(S3APIModel.byName.count == names.count)
        #expect(names == names.sorted(), "the generator sorts the rows by name")
    }

    @Test func putObject() throws {
        let operation = try #require(S3APIModel.byName["PutObject"])
        #expect(operation.method == "PUT")
        #expect(operation.level == .object)
        #expect(operation.selectors.isEmpty)
        #expect(operation.requiredHeaders.isEmpty)
        #expect(operation.headerPrefixes == ["x-amz-meta-"])
        #expect(!operation.deprecated)
        for header in ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
                       "x-amz-website-redirect-location", "x-amz-acl", "x-amz-storage-class",
                       "content-md5", "cache-control", "content-type", "x-amz-tagging"] {
            #expect(operation.headers.contains(header), "PutObject lacks \(header)")
        }
        #expect(operation.headers.allSatisfy { $0 == $0.lowercased() })
    }

    @Test func uploadPartAndCopy() throws {
        let part = try #require(S3APIModel.byName["UploadPart"])
        let copy = try #require(S3APIModel.byName["UploadPartCopy"])
        for operation in [part, copy] {
            #expect(operation.method == "PUT")
            #expect(operation.level == .object)
            #expect(operation.selectors == ["partNumber", "uploadId"])
            #expect(operation.selectorValues.isEmpty)
        }
        // Only the required copy source tells them apart.
        #expect(part.requiredHeaders.isEmpty)
        #expect(copy.requiredHeaders == ["x-amz-copy-source"])
    }

    @Test func copyObject() throws {
        let operation = try #require(S3APIModel.byName["CopyObject"])
        #expect(operation.method == "PUT")
        #expect(operation.level == .object)
        #expect(operation.selectors.isEmpty)
        #expect(operation.requiredHeaders == ["x-amz-copy-source"])
        #expect(operation.requiredHeaders.isSubset(of: operation.headers))
        #expect(operation.headers.contains("x-amz-metadata-directive"))
    }

    @Test func listObjectsV2() throws {
        let operation = try #require(S3APIModel.byName["ListObjectsV2"])
        #expect(operation.method == "GET")
        #expect(operation.level == .bucket)
        #expect(operation.selectors == ["list-type"])
        #expect(operation.selectorValues == ["list-type": "2"])
        #expect(operation.parameters.isSuperset(of: ["prefix", "delimiter", "continuation-token", "start-after"]))
    }

    @Test func selectObjectContent() throws {
        let operation = try #require(S3APIModel.byName["SelectObjectContent"])
        #expect(operation.method == "POST")
        #expect(operation.level == .object)
        #expect(operation.selectors == ["select", "select-type"])
        #expect(operation.selectorValues == ["select-type": "2"])
    }

    @Test func completeMultipartUploadAndListBuckets() throws {
        let complete = try #require(S3APIModel.byName["CompleteMultipartUpload"])
        #expect(complete.method == "POST")
        #expect(complete.selectors == ["uploadId"])
        let listBuckets = try #require(S3APIModel.byName["ListBuckets"])
        #expect(listBuckets.level == .service)
        #expect(listBuckets.selectors.isEmpty)
    }

    /// Whatever the model says, the table's own invariants hold: required headers are among
    /// the headers, a selector is never also an optional parameter, and fixed values belong
    /// to selectors.
    @Test func rowsAreConsistent() {
        for operation in S3APIModel.operations {
            #expect(operation.requiredHeaders.isSubset(of: operation.headers), "\(operation.name)")
            #expect(operation.selectors.isDisjoint(with: operation.parameters), "\(operation.name)")
            #expect(Set(operation.selectorValues.keys).isSubset(of: operation.selectors), "\(operation.name)")
            #expect(["GET", "HEAD", "PUT", "POST", "DELETE"].contains(operation.method), "\(operation.name)")
        }
    }

    @Test func deprecatedOperations() {
        let deprecated = Set(S3APIModel.operations.filter(\.deprecated).map(\.name))
        #expect(deprecated == ["GetBucketLifecycle", "GetBucketNotification",
                               "PutBucketLifecycle", "PutBucketNotification"])
    }
}
