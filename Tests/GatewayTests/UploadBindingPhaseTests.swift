import Crypto
import Foundation
import Policy
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// The upload-binding phase on its own: which id goes upstream, and what each refusal is.
/// (Against radosgw, with what the store holds afterwards: Live/UploadBindingTests.swift.)
@Suite struct UploadBindingPhaseTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let binding = "upload_binding:\n  keys: [{id: k1, secret: \"first-binding-key-0123456789abcdef\"}]\n"

    func preparer(_ extra: String = binding, policy: String? = nil) throws -> RequestPreparer {
        try RequestPreparer(configuration: try TestSetup.configuration(TestSetup.configurationYAML(extra: extra)),
                            credentials: try TestSetup.credentials(),
                            policy: try policy.map { try UploadPolicy.parse($0, file: "policy.yaml") })
    }

    func head(_ method: String, _ target: String, asAdmin: Bool = false, _ headers: [(String, String)] = []) throws -> ClientRequestHead {
        ClientRequestHead(method: method, uri: target, headers: try TestSetup.signedHeaders(
            method: method, target: target, host: "127.0.0.1:9000", headers: headers + [("Content-Length", method == "PUT" ? "1" : "0")],
            now: now, accessKey: asAdmin ? TestSetup.adminKey : TestSetup.clientKey,
            secret: asAdmin ? TestSetup.adminSecret : TestSetup.clientSecret))
    }

    func refusal(_ preparer: RequestPreparer, _ head: ClientRequestHead) -> RequestRefusal? {
        do { _ = try preparer.prepare(head, now: now); return nil } catch { return error }
    }

    func bound(_ preparer: RequestPreparer, key: String = "k", initiator: String? = "tester", sseMD5: String? = nil) -> String {
        preparer.configuration.uploadBinding.binder.bind(.init(upstreamId: "2~up", bucket: "bkt", key: key, initiator: initiator,
                                                               sseCustomerKeyMD5: sseMD5))
    }

    @Test func theInitiatorsIdGoesUpstreamAsTheStoresId() throws {
        let preparer = try preparer()
        let prepared = try preparer.prepare(try head("DELETE", "/bkt/k?uploadId=\(bound(preparer))"), now: now)
        #expect(prepared.upstream.target == "/bkt/k?uploadId=2~up")
        #expect(prepared.uploadBinding == UploadBindingOutcome(state: .bound, initiator: "tester"))
    }

    @Test func forgedAndUnboundIdsAreNoSuchUpload() throws {
        let preparer = try preparer()
        for id in [bound(preparer, key: "other"), "2~up"] {
            let refused = try #require(refusal(preparer, try head("DELETE", "/bkt/k?uploadId=\(id)")))
            #expect(refused.error.status == 404 && refused.error.code == "NoSuchUpload" && refused.facts.phase == .uploadBinding)
        }
        #expect(refusal(preparer, try head("DELETE", "/bkt/k?uploadId=2~up"))?.facts.uploadBinding?.state == .unbound)
    }

    @Test func legacyIdsPassWhenAllowed() throws {
        let preparer = try preparer(Self.binding + "  legacy_ids: allow\n")
        // An empty id is no legacy upload: radosgw would delete the object.
        for target in ["/bkt/k?uploadId=", "/bkt/k?uploadId"] {
            #expect(refusal(preparer, try head("DELETE", target))?.error.code == "NoSuchUpload", "\(target)")
        }
        let prepared = try preparer.prepare(try head("DELETE", "/bkt/k?uploadId=2~legacy"), now: now)
        #expect(prepared.upstream.target == "/bkt/k?uploadId=2~legacy" && prepared.uploadBinding?.state == .legacy)
        #expect(refusal(preparer, try head("DELETE", "/bkt/k?uploadId=\(bound(preparer, key: "x"))"))?.error.code == "NoSuchUpload",
                "a forged id is not a legacy one")
    }

    @Test func anotherPrincipalNeedsAnAccessRule() throws {
        let plain = try preparer()
        let refused = try #require(refusal(plain, try head("DELETE", "/bkt/k?uploadId=\(bound(plain))", asAdmin: true)))
        #expect(refused.error.status == 403 && refused.facts.uploadBinding == UploadBindingOutcome(state: .otherPrincipal, initiator: "tester"))
        let granted = try preparer(policy: """
            version: 1
            access:
              - {id: admins-abort, groups: [platform-admins], operations: [others-uploads], keys: {prefix: "stale/"}, effect: allow}
            """)
        let stale = try granted.prepare(try head("DELETE", "/bkt/stale/x?uploadId=\(bound(granted, key: "stale/x"))", asAdmin: true), now: now)
        #expect(stale.upstream.target == "/bkt/stale/x?uploadId=2~up")
        #expect(refusal(granted, try head("DELETE", "/bkt/k?uploadId=\(bound(granted))", asAdmin: true))?.error.status == 403,
                "outside the rule's keys")
        // A listed id names no initiator: only a granted principal may use it, even its initiator.
        #expect(refusal(granted, try head("DELETE", "/bkt/k?uploadId=\(bound(granted, initiator: nil))"))?.error.status == 403)
    }

    @Test func aPartMustCarryTheInitiationsSSECKey() throws {
        let preparer = try preparer(Self.binding + "sse_c_requires_tls: false\n")
        let key = Data(repeating: 7, count: 32)
        let md5 = Data(Insecure.MD5.hash(data: key)).base64EncodedString()
        func sseC(_ key: Data) -> [(String, String)] {
            [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
             ("x-amz-server-side-encryption-customer-key", key.base64EncodedString()),
             ("x-amz-server-side-encryption-customer-key-md5", Data(Insecure.MD5.hash(data: key)).base64EncodedString())]
        }
        let id = bound(preparer, sseMD5: md5)
        let part = "/bkt/k?partNumber=1&uploadId=\(id)"
        #expect(try preparer.prepare(try head("PUT", part, sseC(key)), now: now).upstream.target == "/bkt/k?partNumber=1&uploadId=2~up")
        for headers in [sseC(Data(repeating: 8, count: 32)), []] {
            let refused = try #require(refusal(preparer, try head("PUT", part, headers)))
            #expect(refused.error.status == 400 && refused.facts.uploadBinding?.state == .sseCMismatch)
        }
        #expect(refusal(preparer, try head("PUT", "/bkt/k?partNumber=1&uploadId=\(bound(preparer))", sseC(key)))?.error.status == 400,
                "an upload without SSE-C takes no customer key")
    }

    @Test func aSealedKeyMarkerGoesUpstreamAsTheKeyItSeals() throws {
        let preparer = try preparer()
        let binder = preparer.configuration.uploadBinding.binder
        let marker = binder.sealListingMarker(.init(key: "hidden/k", uploadId: "2~up"), bucket: "bkt")
        for idMarker in ["", "&upload-id-marker="] {
            let prepared = try preparer.prepare(try head("GET", "/bkt?uploads&key-marker=\(marker)\(idMarker)"), now: now)
            #expect(prepared.upstream.target == "/bkt?uploads&key-marker=hidden%2Fk&upload-id-marker=2~up",
                    "the store's id goes with the key, sent or not")
        }
        // A page that ended on a common prefix names no upload.
        let prefix = binder.sealListingMarker(.init(key: "hidden/", uploadId: ""), bucket: "bkt")
        #expect(try preparer.prepare(try head("GET", "/bkt?uploads&delimiter=%2F&key-marker=\(prefix)"), now: now).upstream.target
            == "/bkt?uploads&delimiter=%2F&key-marker=hidden%2F")
        let altered = marker.dropLast() + (marker.hasSuffix("A") ? "B" : "A")
        for target in ["/bkt?uploads&key-marker=\(altered)", "/bkt?uploads&key-marker=\(marker)&upload-id-marker=\(bound(preparer))",
                       "/other?uploads&key-marker=\(marker)"] {
            let refused = try #require(refusal(preparer, try head("GET", target)), "\(target)")
            #expect(refused.error.status == 400 && refused.error.code == "InvalidArgument", "\(target)")
        }
        // A key marker that is not sealed passes as the client wrote it.
        #expect(try preparer.prepare(try head("GET", "/bkt?uploads&key-marker=a%2Fb"), now: now).upstream.target
            == "/bkt?uploads&key-marker=a%2Fb")
    }
}
