import Foundation
import Testing
@testable import S3Core

/// docs/s3-operations.md prints the closed operation table; this test renders the table and
/// compares. After a change to the table, rewrite the page with
///
///     OBSGATE_WRITE_DOCS=1 swift test --filter OperationTableDocTests
@Suite struct OperationTableDocTests {
    static let page = S3APIModelTests.repositoryRoot.appendingPathComponent("docs/s3-operations.md")

    @Test func theDocumentedTableIsTheTable() throws {
        let rendered = Self.render()
        if ProcessInfo.processInfo.environment["OBSGATE_WRITE_DOCS"] != nil {
            try rendered.write(to: Self.page, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(committed == rendered, "docs/s3-operations.md is not the table; rewrite it with OBSGATE_WRITE_DOCS=1 swift test --filter OperationTableDocTests")
    }

    static func render() -> String {
        func address(_ row: S3OperationRow) -> String {
            let path = switch row.shape.level {
            case .service: "/"
            case .bucket: "/bucket"
            case .object: "/bucket/key"
            }
            let query = row.shape.selectors.sorted().map { name in row.shape.selectorValues[name].map { "\(name)=\($0)" } ?? name }
            return "`\(row.shape.method) \(path)\(query.isEmpty ? "" : "?" + query.joined(separator: "&"))`"
        }
        func list(_ values: Set<String>) -> String {
            values.isEmpty ? "" : values.sorted().map { "`\($0)`" }.joined(separator: " ")
        }
        var lines = [
            "# The operations obsgate forwards",
            "",
            "<!-- Rendered from S3OperationTable by Tests/S3CoreTests/OperationTableDocTests.swift; do not edit by hand. -->",
            "",
            "A request is the operation of the one row whose method, address and selecting query keys it",
            "has exactly, and whose other query parameters the row takes; where two rows fit, the one",
            "with more selectors wins, then the one whose required headers are present (CopyObject over",
            "PutObject with `x-amz-copy-source`). Any other request is answered 501 NotImplemented",
            "before its signature counts for anything. Rows come from the S3 model of botocore",
            "\(S3APIModel.botocoreVersion) ([s3-api-model.md](s3-api-model.md)), less the excluded ones below, plus",
            "the browser form upload and the OBS-only operations (accepted only when the upstream",
            "speaks OBS: `upstream.dialect: obs`, the default with `signing: obs`).",
            "",
            "The headers a row lists are the ones that operation may carry upstream, in either dialect",
            "(`x-obs-acl` for `x-amz-acl`; a renamed header only in its own dialect's spelling, e.g.",
            "`x-obs-server-side-encryption-kms-key-id`; the translation is in [dialects.md](dialects.md)).",
            "OBS headers with no S3 counterpart (`x-obs-expires`, `x-obs-sse-kms-key-project-id`, ...) are",
            "not judged by the policy and so not admitted. Any other `x-amz-*` / `x-obs-*` field, and any",
            "`If-*` or `Range` field the operation does not define, is refused with 400 InvalidArgument",
            "naming it; other plain fields are not forwarded, except `User-Agent`, `x-amz-user-agent`,",
            "`traceparent` and `tracestate`. The gateway's own framing and signing fields (`Content-Length`,",
            "`Content-Encoding: aws-chunked`, `x-amz-date`, `x-amz-content-sha256`, ...) are consumed and",
            "written anew. The upstream body is always framed by `Content-Length`, never chunked: a",
            "request without a body gets `Content-Length: 0` when its method gives a body a meaning",
            "(POST, PUT, PATCH) and no framing field otherwise.",
            "",
            "| operation | request | also takes | headers it may carry | upstream |",
            "|---|---|---|---|---|",
        ]
        for row in S3OperationTable.rows.sorted(by: { $0.name < $1.name }) {
            let headers = list(row.shape.headers) + (row.shape.headerPrefixes.isEmpty ? "" : " " + row.shape.headerPrefixes.sorted().map { "`\($0)*`" }.joined(separator: " "))
            lines.append("| \(row.name) | \(address(row)) | \(list(row.shape.parameters)) | \(headers.trimmingCharacters(in: .whitespaces)) | \(row.obsOnly ? "OBS only" : "any") |")
        }
        lines += ["", "## Operations of the S3 model obsgate does not forward", "",
                  "Deprecated operations (PutBucketLifecycle and its kind) are replaced by the rows of their",
                  "successors at the same address. These are refused as unknown:", "",
                  "| operation | why |", "|---|---|"]
        for (name, reason) in S3OperationTable.excluded.sorted(by: { $0.key < $1.key }) {
            lines.append("| \(name) | \(reason) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
