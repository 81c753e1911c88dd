import Audit
import DevUpstream
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Policy
import S3Core
import Testing
@testable import Gateway

/// The audit trail the running gateway writes, in front of the development store: one
/// record per exchange with what the phases learned, the fail-closed check, and the
/// metrics of the writer. (Tests/GatewayTests/Clients/audit_session.py runs the issue's
/// whole scripted session against radosgw.)
@Suite(.serialized) struct AuditTrailTests {
    /// A gateway with an audit file in a fresh directory.
    struct AuditedStack {
        let stack: DevUpstreamGatewayTests.Stack
        let directory: URL
        var path: String { directory.appendingPathComponent("audit.log").path }
        var writer: AuditWriter { stack.gateway.server.audit! }

        static func start(failClosed: Bool = true, policy: UploadPolicy? = nil, audit: String = "",
                          extra: String = "") async throws -> AuditedStack {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-audit-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let stack = try await DevUpstreamGatewayTests.Stack.start(gatewayExtra: """
                audit:
                  sinks: [{type: file, path: \(directory.path)/audit.log}]
                  flush: per-record
                  fail_closed: \(failClosed)
                  \(audit)
                \(extra)
                """, policy: policy)
            return AuditedStack(stack: stack, directory: directory)
        }

        /// The records written so far, once `count` of them are durable.
        func records(count: Int) async throws -> [AuditRecord] {
            #expect(await eventually { writer.recordsWritten >= count }, "only \(writer.recordsWritten) of \(count) records")
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            return try lines.dropFirst().map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
        }

        /// Stops the gateway (which drains the writer); the files stay for checking.
        func stop() async {
            await stack.stop()
        }

        func remove() {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func eachExchangeLeavesOneRecordSayingWhatBecameOfIt() async throws {
        let audited = try await AuditedStack.start(policy: try PolicyEnforcementTests.policy())
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/finance-a").status == 200)
        let initiate = try await stack.send("POST", "/finance-a/q3.pdf?uploads")
        #expect(initiate.status == 200)
        let uploadId = try #require(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: initiate.body))
        let part = try await stack.send("PUT", "/finance-a/q3.pdf?partNumber=1&uploadId=\(uploadId)", body: Array("part".utf8))
        #expect(part.status == 200)
        let denied = try await stack.send("PUT", "/finance-a/cold", headers: [("x-amz-storage-class", "GLACIER")], body: [1])
        #expect(denied.status == 403)
        #expect(try await stack.send("GET", "/finance-a/q3.pdf", secret: "wrong").status == 403)
        let missing = try await stack.send("GET", "/finance-a/none")
        #expect(missing.status == 404)

        let records = try await audited.records(count: 6)
        #expect(records.map(\.operation) == ["CreateBucket", "CreateMultipartUpload", "UploadPart", "PutObject", "GetObject", "GetObject"])
        #expect(records.map(\.status) == [200, 200, 200, 403, 403, 404])
        #expect(records.map(\.decision) == [.allow, .allowWithMutations, .allow, .deny, .refused, .allow])

        let started = records[1]
        #expect(started.uploadId == uploadId)
        #expect(started.rules.first == "finance-kms", "every rule that matched, in file order")
        #expect(started.mutations.contains { $0.name == "x-amz-server-side-encryption-aws-kms-key-id" && $0.value == "testkey-1" })
        #expect(started.headers?["x-amz-server-side-encryption-aws-kms-key-id"] == "testkey-1")
        #expect(started.principal == "tester" && started.accessKeyId == TestSetup.clientKey)
        #expect(started.bucket == "finance-a" && started.key == "q3.pdf")
        #expect(started.policyVersion == (try PolicyEnforcementTests.policy().version))
        #expect(started.requestId == initiate.headers.first(name: "x-obsgate-request-id"))
        #expect(started.upstreamRequestId != nil)
        #expect(started.clientAddress?.hasPrefix("127.0.0.1:") == true)
        #expect(records[2].uploadId == uploadId && records[2].bytesIn == 4)

        #expect(records[3].deniedBy == "no-glacier" && records[3].errorCode == "AccessDenied")
        #expect(records[3].headers?["x-amz-storage-class"] == "GLACIER", "a refused request's headers as the client sent them")
        #expect(records[4].accessKeyId == TestSetup.clientKey && records[4].principal == nil)
        #expect(records[4].errorCode == "SignatureDoesNotMatch")
        #expect(records[5].errorCode == "NoSuchKey")
        await audited.stop()

        var verifier = AuditChainVerifier()
        let summary = try verifier.verify(fileAt: audited.path)
        #expect(summary.anchor == .newChain && summary.records == 6)
        audited.remove()
    }

    /// The gateway's request id reaches the upstream (so the two logs join); the client's
    /// own value of that header does not; a W3C traceparent passes unchanged.
    @Test func theRequestIdAndTheTraceContextGoUpstream() async throws {
        let audited = try await AuditedStack.start()
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/traced").status == 200)
        stack.upstream.clearRecordedRequests()
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let response = try await stack.send("PUT", "/traced/k", headers: [("x-obsgate-request-id", "forged"),
                                                                          ("traceparent", traceparent)], body: [1])
        #expect(response.status == 200)
        let forwarded = try #require(stack.upstream.recordedRequests().last)
        let requestId = try #require(response.headers.first(name: "x-obsgate-request-id"))
        #expect(forwarded.headers.values("x-obsgate-request-id") == [requestId])
        #expect(forwarded.headers["traceparent"] == traceparent)
        #expect(try await audited.records(count: 2).last?.requestId == requestId)
        await audited.stop()
        audited.remove()
    }

    /// The audit file's path turns into /dev/full, where every write fails: requests that
    /// change stored data (uploads, deletions, tagging) get 503 while reads go on; once the
    /// path is a file again the queued records are written and uploads succeed. (A full disk rather than a read-only
    /// directory, which root — as CI runs — would write anyway; audit_session.py makes the
    /// directory read-only for a gateway running as nobody.)
    @Test func failClosedRefusesUploadsWhileTheTrailCannotBeWrittenAndRecovers() async throws {
        let audited = try await AuditedStack.start(failClosed: true)
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/guarded").status == 200)
        #expect(try await stack.send("PUT", "/guarded/before", body: [1]).status == 200)
        #expect(await eventually { audited.writer.recordsWritten == 2 })
        let moved = audited.directory.appendingPathComponent("before.log").path
        try FileManager.default.moveItem(atPath: audited.path, toPath: moved)
        try FileManager.default.createSymbolicLink(atPath: audited.path, withDestinationPath: "/dev/full")
        #expect(await eventually { !audited.writer.isHealthy })

        let refused = try await stack.send("PUT", "/guarded/during", body: [1])
        #expect(refused.status == 503)
        #expect(refused.bodyText.contains("<Code>ServiceUnavailable</Code>"))
        let initiate = try await stack.send("POST", "/guarded/during?uploads")
        #expect(initiate.status == 503)
        #expect(try await stack.send("DELETE", "/guarded/before").status == 503, "a deletion changes stored data")
        #expect(try await stack.send("GET", "/guarded/before").status == 200, "reads go on")
        #expect(!stack.upstream.recordedRequests().contains { $0.target.hasPrefix("/guarded/during") })
        #expect(!stack.upstream.recordedRequests().contains { $0.method == "DELETE" })
        let metrics = stack.gateway.server.metricsText()
        #expect(metrics.contains("obsgate_audit_healthy 0\n"))
        #expect(metrics.contains("obsgate_audit_fail_closed_refusals_total 3\n"), "the three 503s above")

        try FileManager.default.removeItem(atPath: audited.path)
        #expect(await eventually { audited.writer.isHealthy && audited.writer.queueDepth == 0 })
        #expect(try await stack.send("PUT", "/guarded/after", body: [1]).status == 200)
        let records = try await audited.records(count: 7)
        #expect(records.suffix(5).map(\.status) == [503, 503, 503, 200, 200])
        #expect(records.suffix(5).prefix(3).allSatisfy { $0.decision == .refused && $0.errorCode == "ServiceUnavailable" })
        #expect(stack.gateway.server.metricsText().contains("obsgate_audit_healthy 1\n"))
        await audited.stop()

        var verifier = AuditChainVerifier()
        _ = try verifier.verify(fileAt: moved)
        #expect(try verifier.verify(fileAt: audited.path).anchor == .reopen, "the two files are one chain")
        audited.remove()
    }

    /// A flood of unsigned requests, each with 50 KiB of headers, from several connections
    /// at once, while the test client keeps working: every one of the client's records is
    /// there, the flood's are limited to the per-address allowance (the one written after it
    /// says how many were left out), each is cut to a few KiB, and the trail stays healthy.
    /// Bounded in time: two seconds of flood.
    @Test func aFloodOfUnauthenticatedRequestsCannotCrowdOutTheTrail() async throws {
        let audited = try await AuditedStack.start(audit: "unauthenticated_refusals: {per_second: 5, burst: 10}")
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/flood").status == 200)
        let padding = String(repeating: "x", count: 50 * 1024)
        let started = ContinuousClock.now
        let flooded = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var sent = 0
                    while ContinuousClock.now - started < .seconds(2) {
                        let response = try await TestHTTPClient.send(
                            port: stack.gateway.port, method: "GET", target: "/flood/k",
                            headers: [("Host", "127.0.0.1"), ("x-amz-storage-class", padding)])
                        #expect(response.status == 403)
                        sent += 1
                    }
                    return sent
                }
            }
            var signed = 0
            while ContinuousClock.now - started < .seconds(2) {
                #expect(try await stack.send("PUT", "/flood/signed-\(signed)", body: [1]).status == 200)
                signed += 1
            }
            var total = 0
            for try await count in group { total += count }
            return (flood: total, signed: signed)
        }
        let elapsed = Double((ContinuousClock.now - started).components.seconds) + 1
        #expect(try await stack.send("GET", "/flood/after", accessKey: "GWNOBODY00000000000X").status == 403)
        // A record is appended just after its answer went out: wait until every request
        // (the bucket, the flood, the signed ones, the last refusal) is written or counted.
        let suppressedCount = { Int(sample("obsgate_audit_records_suppressed_total", in: stack.gateway.server.metricsText()) ?? 0) }
        let everyRequest = 1 + flooded.flood + flooded.signed + 1
        #expect(await eventually { audited.writer.recordsWritten + suppressedCount() == everyRequest })
        let records = try await audited.records(count: 1)
        let signed = records.filter { $0.principal == "tester" && $0.key?.hasPrefix("signed-") == true }
        #expect(signed.count == flooded.signed, "every signed request is recorded")
        let refusals = records.filter { $0.principal == nil }
        #expect(refusals.count <= 10 + Int(5 * elapsed) + 1, "\(refusals.count) refusals recorded of \(flooded.flood)")
        #expect(refusals.count < flooded.flood)
        #expect(refusals.allSatisfy { $0.truncated == true || $0.key == "after" })
        let suppressed = refusals.compactMap(\.suppressed).reduce(0, +)
        let counted = Int(sample("obsgate_audit_records_suppressed_total", in: stack.gateway.server.metricsText()) ?? -1)
        #expect(counted + refusals.count == flooded.flood + 1, "each refusal is recorded or counted")
        #expect(suppressed <= counted)
        let size = try FileManager.default.attributesOfItem(atPath: audited.path)[.size] as? Int ?? .max
        #expect(size < (refusals.count + signed.count + 2) * 4096, "\(size) bytes")
        #expect(audited.writer.isHealthy && audited.writer.recordsDropped == 0)
        await audited.stop()
        audited.remove()
    }

    /// An upload still running when the drain time is over is cut by the gateway, and its
    /// record is written before the trail closes.
    @Test func anExchangeCutAtTheEndOfTheDrainStillLeavesItsRecord() async throws {
        let audited = try await AuditedStack.start(extra: "timeouts: {drain: 1}")
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/slow").status == 200)
        // The gauge counts an exchange until its log line and record are written, which may
        // be just after its answer reached the client: wait for 0 first, so that the 1
        // below is the upload's and not the CreateBucket's (CI once stopped the gateway
        // before the upload had even arrived).
        let inFlight = { sample("obsgate_requests_in_flight", in: stack.gateway.server.metricsText()) }
        #expect(await eventually { inFlight() == 0 }, "the bucket's exchange did not end: \(String(describing: inFlight()))")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHTTPClientHandlers() }
            }
            .connect(host: "127.0.0.1", port: stack.gateway.port).get()
        var headers = HTTPHeaders()
        for (name, value) in try stack.gateway.signedHeaders(method: "PUT", target: "/slow/k", headers: [("Content-Length", "100")]) {
            headers.add(name: name, value: value)
        }
        try await channel.writeAndFlush(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .PUT,
                                                                                   uri: "/slow/k", headers: headers))).get()
        try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: Array(repeating: 7, count: 10))))).get()
        #expect(await eventually { inFlight() == 1 }, "the upload is in flight: \(String(describing: inFlight()))")

        await audited.stop()
        try await channel.closeFuture.get()
        let lines = try String(contentsOfFile: audited.path, encoding: .utf8).split(separator: "\n")
        let cut = try JSONDecoder().decode(AuditRecord.self, from: Data(try #require(lines.last).utf8))
        #expect(cut.operation == "PutObject" && cut.key == "k" && cut.bytesIn == 10)
        #expect(cut.status == nil && cut.errorCode == "ClientDisconnected", "\(String(describing: cut.errorCode))")
        audited.remove()
    }

    /// `fail_closed: false`: uploads go on while the trail is broken, and are counted.
    @Test func failOpenLetsUploadsThroughAndCountsThem() async throws {
        let audited = try await AuditedStack.start(failClosed: false)
        let stack = audited.stack
        #expect(try await stack.send("PUT", "/open").status == 200)
        #expect(await eventually { audited.writer.recordsWritten == 1 })
        try FileManager.default.removeItem(atPath: audited.path)
        try FileManager.default.createSymbolicLink(atPath: audited.path, withDestinationPath: "/dev/full")
        #expect(await eventually { !audited.writer.isHealthy })
        #expect(try await stack.send("PUT", "/open/k", body: [1]).status == 200)
        #expect(audited.writer.failOpenAdmissions == 1)
        #expect(stack.gateway.server.metricsText().contains("obsgate_audit_fail_open_admissions_total 1\n"))
        try FileManager.default.removeItem(atPath: audited.path)
        #expect(await eventually { audited.writer.isHealthy && audited.writer.queueDepth == 0 })
        await audited.stop()
        audited.remove()
    }
}
