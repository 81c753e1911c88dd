import Foundation
import Testing
@testable import Gateway

/// Huawei's OBS Python SDK (`esdk-obs-python`) through the gateway — with its OBS native
/// signature, SigV4 and SigV2 — and boto3 beside it, in front of an upstream that speaks the
/// OBS dialect and one that speaks S3. See Clients/obs_sdk_scenarios.py: multipart upload
/// with SSE-KMS and WARM, bytes compared, OBS-style answers for OBS-signed requests and
/// S3-style ones for S3 clients, storage classes OBS cannot express refused.
@Suite(.serialized) struct OBSClientTests {
    @Test(arguments: ["obs", "v4"])
    func theOBSSDKAndBoto3WorkThroughTheGateway(upstreamSigning: String) async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(gatewayExtra: "virtual_host_domains: [s3.example.test]",
                                                                  upstreamExtra: "signing: \(upstreamSigning)")
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("obs-sdk-\(UUID().uuidString).json")
        let run = try Peers.run([
            "python3", Peers.clientsDirectory.appendingPathComponent("obs_sdk_scenarios.py").path,
            "--endpoint", stack.gateway.endpoint, "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--upstream-dialect", upstreamSigning == "obs" ? "obs" : "s3", "--out", results.path,
        ], timeout: 300)
        let decoded = try JSONDecoder().decode(RadosgwClientTests.Results.self, from: Data(contentsOf: results))
        #expect(decoded.scenarios.count >= 20, "\(run.output.suffix(3000))")
        for scenario in decoded.scenarios {
            #expect(scenario.ok, "\(scenario.name): \(scenario.detail)")
        }
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        await stack.stop()
    }
}
