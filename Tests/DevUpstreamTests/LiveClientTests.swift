import DevUpstream
import Foundation
import S3Core
import Testing
import TestSupport

/// The store driven by the real clients on this machine (awscli, boto3, curl) over HTTP.
/// Each test starts its own server on an ephemeral port.
@Suite(.serialized) struct LiveClientTests {
    /// `aws s3 mb`, `cp` up and down of a 12 MiB file in 5 MiB parts, `ls`, `head-object`.
    @Test func awscliMultipartCopyUpAndDown() async throws {
        try await LiveStore.with { store in
            let mb = try store.aws("s3", "mb", "s3://live-bucket")
            #expect(mb.status == 0, "\(mb.stderr)")
            #expect(mb.stdout.contains("make_bucket: live-bucket"))

            let original = try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: 12 * 1024 * 1024))
            try original.write(to: URL(fileURLWithPath: store.path("big.bin")))
            store.server.clearRecordedRequests()
            let up = try store.aws("s3", "cp", store.path("big.bin"), "s3://live-bucket/dir/big.bin")
            #expect(up.status == 0, "\(up.stderr)")
            #expect(up.stdout.contains("upload:"))

            let recorded = store.server.recordedRequests()
            #expect(recorded.allSatisfy { $0.accessKeyId == LiveStore.credentials.accessKeyId })
            #expect(recorded.filter { $0.method == "POST" && $0.target.hasSuffix("?uploads") }.count == 1)
            let parts = recorded.filter { $0.method == "PUT" && $0.target.contains("partNumber=") }
            #expect(parts.count == 3)
            #expect(parts.map(\.bodyLength).reduce(0, +) >= original.count)
            #expect(recorded.contains { $0.method == "POST" && $0.target.contains("uploadId=") })

            let down = try store.aws("s3", "cp", "s3://live-bucket/dir/big.bin", store.path("down.bin"))
            #expect(down.status == 0, "\(down.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: store.path("down.bin"))) == original)

            let ls = try store.aws("s3", "ls", "s3://live-bucket/dir/")
            #expect(ls.status == 0, "\(ls.stderr)")
            #expect(ls.stdout.contains("12582912 big.bin"))
            let buckets = try store.aws("s3", "ls")
            #expect(buckets.stdout.contains("live-bucket"))

            let head = try store.aws("s3api", "head-object", "--bucket", "live-bucket", "--key", "dir/big.bin")
            let json = try JSONSerialization.jsonObject(with: Data(head.stdout.utf8)) as? [String: Any]
            #expect((json?["ETag"] as? String)?.hasSuffix("-3\"") == true)
            #expect(json?["ContentLength"] as? Int == 12_582_912)
        }
    }

    /// `aws s3 presign` (SigV2 query, awscli's default, and SigV4 with the `s3v4` profile)
    /// and a plain HTTP GET of the URL.
    @Test func presignedGet() async throws {
        try await LiveStore.with { store in
            #expect(try store.aws("s3", "mb", "s3://presign-bucket").status == 0)
            try "presigned content".write(toFile: store.path("small.txt"), atomically: true, encoding: .utf8)
            #expect(try store.aws("s3", "cp", store.path("small.txt"), "s3://presign-bucket/a b.txt").status == 0)
            for (profile, signatureParameter) in [("default", "Signature="), ("sigv4-presign", "X-Amz-Signature=")] {
                let presign = try store.aws("s3", "presign", "s3://presign-bucket/a b.txt", "--expires-in", "300",
                                            "--profile", profile)
                #expect(presign.status == 0, "\(presign.stderr)")
                let url = presign.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(url.contains(signatureParameter), "\(url)")
                let fetched = try runProcess(["curl", "-sS", "--fail", url], environment: store.environment())
                #expect(fetched.status == 0, "\(fetched.stderr)")
                #expect(fetched.stdout == "presigned content")
                let get = store.server.recordedRequests().last
                #expect(get?.method == "GET" && get?.target.contains(signatureParameter) == true)
                #expect(get?.accessKeyId == LiveStore.credentials.accessKeyId)

                let tampered = url.replacingOccurrences(of: "a%20b.txt", with: "a%20c.txt")
                let refused = try runProcess(["curl", "-sS", tampered], environment: store.environment())
                #expect(refused.stdout.contains("<Code>SignatureDoesNotMatch</Code>"))
            }
        }
    }

    /// `put-object --sse aws:kms --sse-kms-key-id k1 --storage-class STANDARD_IA`, then
    /// `head-object` shows what was stored.
    @Test func sseKMSAndStorageClassAreEchoed() async throws {
        try await LiveStore.with { store in
            #expect(try store.aws("s3", "mb", "s3://kms-bucket").status == 0)
            try "kms".write(toFile: store.path("kms.txt"), atomically: true, encoding: .utf8)
            let put = try store.aws("s3api", "put-object", "--bucket", "kms-bucket", "--key", "secret.txt",
                                    "--body", store.path("kms.txt"), "--server-side-encryption", "aws:kms",
                                    "--ssekms-key-id", "k1", "--storage-class", "STANDARD_IA")
            #expect(put.status == 0, "\(put.stderr)")
            let putJSON = try JSONSerialization.jsonObject(with: Data(put.stdout.utf8)) as? [String: Any]
            #expect(putJSON?["ServerSideEncryption"] as? String == "aws:kms")
            #expect(putJSON?["SSEKMSKeyId"] as? String == "k1")

            let head = try store.aws("s3api", "head-object", "--bucket", "kms-bucket", "--key", "secret.txt")
            #expect(head.status == 0, "\(head.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(head.stdout.utf8)) as? [String: Any]
            #expect(json?["ServerSideEncryption"] as? String == "aws:kms")
            #expect(json?["SSEKMSKeyId"] as? String == "k1")
            #expect(json?["StorageClass"] as? String == "STANDARD_IA")
            #expect(json?["ContentLength"] as? Int == 3)

            let bad = try store.aws("s3api", "put-object", "--bucket", "kms-bucket", "--key", "x",
                                    "--body", store.path("kms.txt"), "--storage-class", "standard_ia")
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("InvalidStorageClass"))
        }
    }

    @Test func deleteObjects() async throws {
        try await LiveStore.with { store in
            #expect(try store.aws("s3", "mb", "s3://delete-bucket").status == 0)
            try "x".write(toFile: store.path("x.txt"), atomically: true, encoding: .utf8)
            for key in ["one", "two", "three"] {
                #expect(try store.aws("s3", "cp", store.path("x.txt"), "s3://delete-bucket/\(key)").status == 0)
            }
            let delete = try store.aws("s3api", "delete-objects", "--bucket", "delete-bucket", "--delete",
                                       #"{"Objects":[{"Key":"one"},{"Key":"two"}],"Quiet":false}"#)
            #expect(delete.status == 0, "\(delete.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(delete.stdout.utf8)) as? [String: Any]
            let deleted = (json?["Deleted"] as? [[String: Any]])?.compactMap { $0["Key"] as? String }
            #expect(deleted == ["one", "two"])
            let listing = try store.aws("s3api", "list-objects-v2", "--bucket", "delete-bucket")
            let keys = ((try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any])?["Contents"]
                as? [[String: Any]])?.compactMap { $0["Key"] as? String }
            #expect(keys == ["three"])
        }
    }

    /// boto3 with `signature_version='s3'` (SigV2): put, get, and a delimited listing of
    /// keys that need URL encoding.
    @Test func boto3SigV2() async throws {
        try await LiveStore.with { store in
            let script = #"""
                import os, boto3
                from botocore.config import Config
                s3 = boto3.client("s3", endpoint_url=os.environ["DEV_UPSTREAM_ENDPOINT"], region_name="us-east-1",
                                  config=Config(signature_version="s3", s3={"addressing_style": "path"}))
                s3.create_bucket(Bucket="boto-bucket")
                s3.put_object(Bucket="boto-bucket", Key="a b+c.txt", Body=b"sigv2 body", ContentType="text/plain",
                              Metadata={"origin": "boto3"})
                s3.put_object(Bucket="boto-bucket", Key="dir/x", Body=b"x")
                got = s3.get_object(Bucket="boto-bucket", Key="a b+c.txt")
                print("body=" + got["Body"].read().decode())
                print("type=" + got["ContentType"])
                print("meta=" + got["Metadata"]["origin"])
                listing = s3.list_objects_v2(Bucket="boto-bucket", Delimiter="/")
                print("keys=" + ",".join(o["Key"] for o in listing["Contents"]))
                print("prefixes=" + ",".join(p["Prefix"] for p in listing["CommonPrefixes"]))
                """#
            let result = try store.python(script)
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines == ["body=sigv2 body", "type=text/plain", "meta=boto3", "keys=a b+c.txt", "prefixes=dir/"])
            let put = store.server.recordedRequests().first { $0.method == "PUT" && $0.target.hasPrefix("/boto-bucket/a") }
            #expect(put?.headers["Authorization"]?.hasPrefix("AWS \(LiveStore.credentials.accessKeyId):") == true)
        }
    }

    @Test func sigV4WithAWrongSecretIsRefused() async throws {
        try await LiveStore.with { store in
            #expect(try store.aws("s3", "mb", "s3://secret-bucket").status == 0)
            let result = try store.aws("s3api", "list-objects-v2", "--bucket", "secret-bucket", secret: "wrong-secret")
            #expect(result.status != 0)
            #expect(result.stderr.contains("SignatureDoesNotMatch"))
            let refused = store.server.recordedRequests().last
            #expect(refused?.accessKeyId == nil)
            #expect(refused?.headers["Authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(LiveStore.credentials.accessKeyId)/") == true)
        }
    }
}
