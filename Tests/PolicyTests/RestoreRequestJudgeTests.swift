import Policy
import S3Core
import Testing

/// RestoreObject bodies: a plain restore passes, a SELECT restore (which writes objects
/// under its OutputLocation) is refused, an unreadable body is 400.
@Suite struct RestoreRequestJudgeTests {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    @Test(arguments: [
        "",
        "  \n",
        "<RestoreRequest xmlns=\"\(namespace)\"><Days>2</Days><GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters></RestoreRequest>",
        // OBS: the same document without a namespace, tier Expedited.
        "<RestoreRequest><Days>30</Days><RestoreJob><Tier>Expedited</Tier></RestoreJob></RestoreRequest>",
    ])
    func aPlainRestorePasses(_ body: String) throws {
        try RestoreRequestJudge.judge(Array(body.utf8))
    }

    @Test(arguments: [
        "<RestoreRequest xmlns=\"\(namespace)\"><Type>SELECT</Type><Tier>Standard</Tier>"
            + "<SelectParameters><InputSerialization><CSV/></InputSerialization><ExpressionType>SQL</ExpressionType>"
            + "<Expression>select * from S3Object</Expression><OutputSerialization><CSV/></OutputSerialization></SelectParameters>"
            + "<OutputLocation><S3><BucketName>elsewhere</BucketName><Prefix>out/</Prefix><StorageClass>GLACIER</StorageClass>"
            + "<CannedACL>public-read</CannedACL></S3></OutputLocation></RestoreRequest>",
        "<RestoreRequest><Type>select</Type></RestoreRequest>",
        "<RestoreRequest><Days>1</Days><OutputLocation><S3><BucketName>b</BucketName><Prefix>p</Prefix></S3></OutputLocation></RestoreRequest>",
    ])
    func aSelectRestoreIsRefused(_ body: String) {
        #expect(throws: S3Error.self) { try RestoreRequestJudge.judge(Array(body.utf8)) }
        do { try RestoreRequestJudge.judge(Array(body.utf8)) } catch { #expect(error.code == "AccessDenied") }
    }

    @Test(arguments: ["<RestoreRequest><Days>1</Days>", "<LifecycleConfiguration/>", "{\"Days\": 1}"])
    func anUnreadableBodyIsMalformedXML(_ body: String) {
        do {
            try RestoreRequestJudge.judge(Array(body.utf8))
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.code == "MalformedXML")
        }
    }
}
