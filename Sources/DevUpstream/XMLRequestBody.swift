import Foundation
import S3Core

/// `<Delete><Quiet>true</Quiet><Object><Key>k</Key>[<VersionId>v</VersionId>]</Object>…</Delete>`
struct DeleteObjectsRequest: Equatable {
    var quiet: Bool
    var keys: [String]

    /// S3 accepts at most 1000 keys per request.
    static let maxKeys = 1000

    init(xml bytes: [UInt8]) throws(S3Error) {
        let root = try XMLTreeElement.parse(bytes)
        guard root.name == "Delete" else { throw S3Error.malformedXML() }
        quiet = root.child("Quiet")?.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
        keys = []
        for object in root.children("Object") {
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error.malformedXML() }
            keys.append(key)
        }
        guard !keys.isEmpty, keys.count <= Self.maxKeys else { throw S3Error.malformedXML() }
    }
}

/// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag>…</Part>…</CompleteMultipartUpload>`;
/// checksum elements inside a part are accepted and not checked.
enum CompleteMultipartUploadRequest {
    static func parts(xml bytes: [UInt8]) throws(S3Error) -> [CompletedPart] {
        let root = try XMLTreeElement.parse(bytes)
        guard root.name == "CompleteMultipartUpload" else { throw S3Error.malformedXML() }
        var parts: [CompletedPart] = []
        for part in root.children("Part") {
            guard let numberText = part.child("PartNumber")?.text.trimmingCharacters(in: .whitespacesAndNewlines),
                  let number = Int(numberText), let etag = part.child("ETag")?.text
            else { throw S3Error.malformedXML() }
            parts.append(CompletedPart(partNumber: number, etag: etag))
        }
        return parts
    }
}
