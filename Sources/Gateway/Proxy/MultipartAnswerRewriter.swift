import S3Core
import S3Signing

/// Rewrites the bodies of the multipart operations' answers, parsed whole with an XML
/// parser (`XMLTreeElement`), so that the client sees the gateway's upload ids and URLs,
/// never the upstream's:
///
///     InitiateMultipartUploadResult   UploadId → the id bound to this initiation
///     ListMultipartUploadsResult      every Upload/UploadId → bound as listed (who initiated
///                                     it is not known); UploadIdMarker, NextUploadIdMarker
///                                     too; uploads of keys the principal may not list dropped,
///                                     a NextKeyMarker naming one sealed
///     ListPartsResult                 UploadId → the id the client sent
///     CompleteMultipartUploadResult,  Location → the object's URL at the gateway
///     PostResponse
///
/// An `Error` document inside a 200 (CompleteMultipartUpload's late failure) passes, its
/// code read for the record. A body that does not parse, or is not the document the
/// operation answers, is refused whole: the client gets a 502, never half a rewrite.
/// Public for the fuzz harness (fuzz/Harness), which feeds it upstream answers directly.
public struct MultipartAnswerRewriter {
    /// A listing of 1,000 uploads with 1,024-byte keys, escaped, is under 4 MiB.
    static let maxBodyBytes = 4 << 20

    public enum Answer {
        case initiate(UploadIdBinder.Binding)
        /// `sealedKeyMarker`: the request's `key-marker`, when it was a sealed one (the
        /// store echoes the key it names).
        case listUploads(bucket: String, sealedKeyMarker: String?, visible: (String) -> Bool)
        case listParts(clientUploadId: String)
        /// `Location` → `url(key)`, the object's URL at the gateway; the key is the
        /// document's `Key`, else `key`.
        case objectLocation(key: String?, url: (String) -> String)
    }

    let binder: UploadIdBinder
    let answer: Answer

    public init(binder: UploadIdBinder, answer: Answer) {
        self.binder = binder
        self.answer = answer
    }

    /// Whether answers of `operation` are rewritten.
    static func rewrites(_ operation: S3Operation) -> Bool {
        switch operation {
        case .createMultipartUpload, .listMultipartUploads, .listParts, .completeMultipartUpload, .postObject: true
        default: false
        }
    }

    /// The rewritten body; the error code of an `Error` document passed through; and for
    /// an initiation, the upload id the client got (for the audit record, which would
    /// otherwise have to find it in the body again).
    public func rewrite(_ body: [UInt8]) throws(S3Error) -> (body: [UInt8], errorCode: String?, uploadId: String?) {
        // A store may send white space while a long CompleteMultipartUpload runs, to keep the
        // connection alive (S3 does), before the document and its XML declaration.
        let document = body.first?.isXMLWhitespace == true ? Array(body.drop(while: \.isXMLWhitespace)) : body
        // The plain initiate answer, as stores write it, has its id replaced in place: a
        // tree of it costs more than the rest of the request (bench/README.md, #14).
        if case .initiate(var binding) = answer {
            var bound: String?
            if let spliced = InitiateMultipartUploadResult.splicingUploadId(document, { upstreamId in
                binding.upstreamId = upstreamId
                let id = binder.bind(binding)
                bound = id
                return id
            }) {
                return (spliced, nil, bound)
            }
        }
        let parsed: XMLTreeElement?
        do throws(S3Error) { parsed = try XMLTreeElement.parseOptional(document) } catch {
            throw Self.unreadable("a body that is not well-formed XML")
        }
        guard var root = parsed else {
            // Nothing to rewrite (a form's 204): only a document could carry upstream ids.
            if case .objectLocation = answer, body.isEmpty { return (body, nil, nil) }
            // White space alone is a completion's keep-alive whose document never came.
            throw Self.unreadable(body.isEmpty ? "an empty body" : "white space and no document")
        }
        if root.name == "Error" {
            let text = String(decoding: document, as: UTF8.self)
            return (Array(UpstreamErrorSanitizer.sanitize(text).utf8), UpstreamErrorSanitizer.code(of: text), nil)
        }
        var uploadId: String?
        switch answer {
        case .initiate(var binding):
            try expect(root, "InitiateMultipartUploadResult")
            guard let upstreamId = root.child("UploadId")?.value, !upstreamId.isEmpty else {
                throw Self.unreadable("an InitiateMultipartUploadResult without an UploadId")
            }
            binding.upstreamId = upstreamId
            let bound = binder.bind(binding)
            uploadId = bound
            root.setChildText("UploadId", bound)
        case .listUploads(let bucket, let sealedKeyMarker, let visible):
            try expect(root, "ListMultipartUploadsResult")
            let encoded = root.child("EncodingType")?.value == "url"
            func key(_ text: String) throws(S3Error) -> String {
                guard encoded else { return text }
                guard let decoded = PercentEncoding.decode(text) else { throw Self.unreadable("a listed key that is not URL-encoded") }
                return decoded
            }
            var children: [XMLTreeElement] = []
            for var child in root.children {
                if child.name == "Upload" {
                    guard let upstreamId = child.child("UploadId")?.value, let text = child.child("Key")?.text else {
                        throw Self.unreadable("an Upload without its Key and UploadId")
                    }
                    let objectKey = try key(text)
                    guard visible(objectKey) else { continue }
                    child.setChildText("UploadId", binder.bind(.init(upstreamId: upstreamId, bucket: bucket, key: objectKey,
                                                                     initiator: nil)))
                }
                children.append(child)
            }
            root.children = children
            if let sealedKeyMarker {
                // The store echoes what the marker sealed; the client sees what it sent.
                root.setChildText("KeyMarker", sealedKeyMarker)
                root.setChildText("UploadIdMarker", "")
            }
            // A page that ends on a hidden upload names it; the client gets its key and id
            // sealed as the key marker, and no id marker. A visible key that looks sealed is
            // sealed too, so that every marker of that shape is the gateway's.
            let nextKey = try key(root.child("NextKeyMarker")?.text ?? "")
            if !nextKey.isEmpty, !visible(nextKey) || binder.isSealedListingMarker(nextKey) {
                let position = UploadIdBinder.ListingPosition(key: nextKey, uploadId: root.child("NextUploadIdMarker")?.value ?? "")
                root.setChildText("NextKeyMarker", binder.sealListingMarker(position, bucket: bucket))
                root.setChildText("NextUploadIdMarker", "")
            }
            for (marker, keyMarker) in [("UploadIdMarker", "KeyMarker"), ("NextUploadIdMarker", "NextKeyMarker")] {
                guard let upstreamId = root.child(marker)?.value, !upstreamId.isEmpty else { continue }
                let objectKey = try key(root.child(keyMarker)?.text ?? "")
                root.setChildText(marker, binder.bind(.init(upstreamId: upstreamId, bucket: bucket, key: objectKey, initiator: nil)))
            }
        case .listParts(let clientUploadId):
            try expect(root, "ListPartsResult")
            root.setChildText("UploadId", clientUploadId)
        case .objectLocation(let requestKey, let url):
            guard root.name == "CompleteMultipartUploadResult" || root.name == "PostResponse" else {
                throw Self.unreadable("a \(root.name) document")
            }
            if root.child("Location") != nil {
                guard let key = root.child("Key")?.text ?? requestKey else { throw Self.unreadable("a Location without its Key") }
                root.setChildText("Location", url(key))
            }
        }
        return (root.document(), nil, uploadId)
    }

    private func expect(_ root: XMLTreeElement, _ name: String) throws(S3Error) {
        guard root.name == name else { throw Self.unreadable("a \(root.name) document where \(name) was due") }
    }

    static func unreadable(_ what: String) -> S3Error {
        S3Error.badGateway("The upstream answered with \(what); the gateway does not pass on what it cannot rewrite.")
    }
}

extension XMLTreeElement {
    /// Sets the text of every direct child named `name`.
    mutating func setChildText(_ name: String, _ text: String) {
        for index in children.indices where children[index].name == name { children[index].text = text }
    }
}
