import Audit
import Benchmark
import Foundation
import Gateway
import Policy
import S3Core
import S3Signing

/// The hot path's parts, each with time and allocations per operation (bench/README.md,
/// "bench/micro"). Every benchmark first checks that its operation succeeds: a refusal
/// measured as speed would be worse than no number.
///
/// Each sample runs an operation 1,000 times (`scalingFactor: .kilo`) and the figures are per
/// operation: with one operation per sample the harness's own work between samples (reading
/// `/proc` for the CPU metric, its allocations) was counted with it — some 20 allocations
/// and a cold cache per operation.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
                                           warmupIterations: 100, scalingFactor: .kilo,
                                           maxDuration: .seconds(2), maxIterations: 200_000)

    let preparer = Fixture.preparer()
    let authenticator = RequestAuthenticator(
        settings: AuthenticationSettings(regions: ["us-east-1"]), secrets: Fixture.credentials)
    let initiate = Fixture.initiateHead
    let initiateTarget = try! RequestTarget(parsing: initiate.uri)
    let initiateAddress = try! S3AddressResolver(baseDomains: []).resolve(host: Fixture.host, target: initiateTarget)

    Benchmark("SigV4 header verification (initiate)") { benchmark in
        _ = try authenticator.authenticate(method: "POST", target: initiateTarget, headers: initiate.headers,
                                           address: initiateAddress, now: Fixture.now)
        for _ in benchmark.scaledIterations {
            blackHole(try authenticator.authenticate(method: "POST", target: initiateTarget, headers: initiate.headers,
                                                     address: initiateAddress, now: Fixture.now))
        }
    }

    let presigned = try! RequestTarget(parsing: Fixture.presignedGetTarget)
    let presignedHeaders = HeaderFields([("Host", Fixture.host)])
    let presignedAddress = try! S3AddressResolver(baseDomains: []).resolve(host: Fixture.host, target: presigned)
    Benchmark("SigV4 presigned verification (GET)") { benchmark in
        _ = try authenticator.authenticate(method: "GET", target: presigned, headers: presignedHeaders,
                                           address: presignedAddress, now: Fixture.now)
        for _ in benchmark.scaledIterations {
            blackHole(try authenticator.authenticate(method: "GET", target: presigned, headers: presignedHeaders,
                                                     address: presignedAddress, now: Fixture.now))
        }
    }

    let upstreamSigner = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(
        accessKeyId: "UPSTREAMKEY000000001", secretAccessKey: "upstream-secret-0123456789"), region: "us-east-1")
    let upstreamHeaders = HeaderFields([("Host", "127.0.0.1:8000"), ("User-Agent", "Boto3/1.43.11"),
                                        ("x-amz-server-side-encryption", "aws:kms"),
                                        ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")])
    Benchmark("Upstream re-signing (initiate, SigV4)") { benchmark in
        for _ in benchmark.scaledIterations {
            var headers = upstreamHeaders
            try upstreamSigner.sign(method: "POST", target: initiateTarget, address: initiateAddress, headers: &headers,
                                    now: Fixture.now)
            blackHole(headers)
        }
    }

    Benchmark("Classify a request head (initiate)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try preparer.classify(initiate))
        }
    }

    for (label, policy) in [("10", Fixture.perBucketPolicy(rules: 10)), ("10,000", Fixture.perBucketPolicy(rules: 10_000))] {
        let request = PolicyRequest(operation: .createMultipartUpload, bucket: "bucket-7", key: "some/key.bin",
                                    principal: "bench", groups: ["ci"], headers: HeaderFields([("Host", Fixture.host)]))
        Benchmark("Seed validation + policy (\(label) rules)") { benchmark in
            let decision = try SeedValidation.police(request, policy: policy, requireTLSForSSEC: true)
            guard decision?.outcome == .allowWithMutations else { throw BenchmarkCheck("policy decided \(String(describing: decision))") }
            for _ in benchmark.scaledIterations {
                blackHole(try SeedValidation.police(request, policy: policy, requireTLSForSSEC: true))
            }
        }
    }

    Benchmark("Prepare a signed initiate (verify, police, re-sign)") { benchmark in
        _ = try preparer.prepare(initiate, now: Fixture.now)
        for _ in benchmark.scaledIterations {
            blackHole(try preparer.prepare(initiate, now: Fixture.now))
        }
    }

    Benchmark("Audit record sealed (JSON line, hash chain)") { benchmark in
        var record = AuditRecord(time: AuditTimestamp(Fixture.now), requestId: "0123456789ABCDEF", method: "POST",
                                 operation: "CreateMultipartUpload", decision: .allowWithMutations)
        record.clientAddress = "127.0.0.1"
        record.principal = "bench"
        record.accessKeyId = Fixture.clientKey
        record.bucket = "bench"
        record.key = "some/key.bin"
        record.rules = ["sse-kms-only"]
        record.policyVersion = Fixture.encryptionPolicy.version
        record.status = 200
        record.uploadId = "2~abcdefghijklmnopqrstuvwxyz012345"
        var chain = AuditChain()
        for _ in benchmark.scaledIterations {
            blackHole(try chain.seal(record))
        }
    }

    let initiateRequest = "POST \(initiate.uri) HTTP/1.1\r\n"
        + initiate.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "Content-Length: 0\r\n\r\n"
    let initiateAnswer = """
        HTTP/1.1 200 OK\r
        x-amz-request-id: tx0000000000000000001\r
        Content-Type: application/xml\r
        Content-Length: 157\r
        \r
        <?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>
        """
    Benchmark("Proxied initiate through the client pipeline (EmbeddedChannel)") { benchmark in
        let rig = try PipelineRig(preparer: preparer, request: initiateRequest, answer: initiateAnswer)
        let first = try rig.response()
        guard first.hasPrefix("HTTP/1.1 200 OK\r\n"), first.hasSuffix("</InitiateMultipartUploadResult>") else {
            throw BenchmarkCheck("the gateway answered: \(first)")
        }
        for _ in benchmark.scaledIterations {
            blackHole(try rig.exchange())
        }
    }
}

/// A benchmark's set-up or first run did not do what it measures.
struct BenchmarkCheck: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
