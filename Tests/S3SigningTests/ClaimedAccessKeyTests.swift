import S3Core
import S3Signing
import Testing

/// `RequestAuthenticator.claimedAccessKeyId`: the key id an audit record names for a
/// request that failed authentication, read from each of the six signature forms.
@Suite struct ClaimedAccessKeyTests {
    static let cases: [(uri: String, authorization: String?, expected: String?)] = [
        ("/b/k", "AWS4-HMAC-SHA256 Credential=AKIDV4/20250601/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "AKIDV4"),
        ("/b/k", "AWS4-HMAC-SHA256 Credential=AKID/WITH/SLASH/20250601/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00", "AKID/WITH/SLASH"),
        ("/b/k", "AWS4-HMAC-SHA256 Credential=broken, SignedHeaders=host, Signature=00", nil),
        ("/b/k", "AWS AKIDV2:c2lnbmF0dXJl", "AKIDV2"),
        ("/b/k", "AWS account:user:c2lnbmF0dXJl", "account:user"),
        ("/b/k", "OBS AKIDOBS:c2lnbmF0dXJl", "AKIDOBS"),
        ("/b/k", "AWS :c2lnbmF0dXJl", nil),
        ("/b/k", "Bearer abc", nil),
        ("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDPRE%2F20250601%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00", nil, "AKIDPRE"),
        ("/b/k?AWSAccessKeyId=AKIDQ2&Expires=1&Signature=abc", nil, "AKIDQ2"),
        ("/b/k?AccessKeyId=AKIDQOBS&Expires=1&Signature=abc", nil, "AKIDQOBS"),
        ("/b/k", nil, nil),
    ]

    @Test(arguments: cases.indices)
    func claimedKey(_ index: Int) throws {
        let (uri, authorization, expected) = Self.cases[index]
        var headers = HeaderFields([("Host", "example.com")])
        if let authorization { headers.add("Authorization", authorization) }
        let claimed = RequestAuthenticator.claimedAccessKeyId(target: try RequestTarget(parsing: uri), headers: headers)
        #expect(claimed == expected)
    }
}
