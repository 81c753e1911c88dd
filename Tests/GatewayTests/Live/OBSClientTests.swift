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
        try Peers.expectScenariosPass("obs_sdk_scenarios.py", [
            "--endpoint", stack.gateway.endpoint, "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--upstream-dialect", upstreamSigning == "obs" ? "obs" : "s3",
        ], count: 26, timeout: 300)
        await stack.stop()
    }
}
