import Foundation
import Gateway
import Policy
import S3Core
import S3Signing

/// Fuzz target `xml`: the XML bodies the gateway reads whole (`XMLTreeElement`): the
/// answers it rewrites (`MultipartAnswerRewriter`: upload ids bound, listings filtered,
/// Locations replaced, upstream errors sanitised), the request bodies it judges
/// (`BucketConfigurationJudge` under each shipped policy, `RestoreRequestJudge`), and the
/// prefix scan the audit record reads an upload id with. The input is one line naming the
/// document — `initiate`, `list-uploads`, `list-parts`, `complete`, `restore` or
/// `bucket SUBRESOURCE` (a PUT of that bucket setting) — then the body.
///
/// Invariants:
/// - a document that parses, written out, parses to the same elements and texts;
/// - a rewritten answer parses; an upload id in it verifies, for its bucket and key, as
///   the binding of the upstream's id; no listed upload is one the principal may not see;
///   a Location is the gateway's URL; an upstream error keeps none of the elements that
///   only the gateway may see;
/// - the audit's prefix scan reads the same upload id as the parser, for a document whose
///   one `UploadId` is the root's child (and no comment, CDATA or instruction hides one).
public enum XMLTarget {
    static let bucket = "bucket", key = "key", hidden = "hidden/"
    static let binder = FuzzGateway.configuration.uploadBinding.binder
    static let policies = ["encryption", "organisation", "public-acl-ban", "redirect-safety", "storage-class"]
        .map { try! UploadPolicy.load(path: Repository.path("policies/\($0).yaml")) }

    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let kind = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ").map(String.init)
        let body = Array(bytes[(newline + 1)...])
        let parsed = try? XMLTreeElement.parse(body)
        if let parsed {
            let again = try? XMLTreeElement.parse(parsed.document())
            Invariant.check(again.map(Shape.init) == Shape(parsed), "written out, \(Shape(parsed)) reads \(again.map { "\(Shape($0))" } ?? "malformed")")
        }
        switch kind.first {
        case "initiate": checkInitiate(body, parsed: parsed)
        case "list-uploads": checkListing(body, parsed: parsed)
        case "list-parts":
            guard let root = rewritten(body, .listParts(clientUploadId: "client.id")) else { return }
            Invariant.check(root.children("UploadId").allSatisfy { $0.text == "client.id" }, "ListParts keeps an upstream UploadId")
        case "complete":
            guard let root = rewritten(body, .objectLocation(key: key, url: location)), let found = root.child("Location") else { return }
            Invariant.check(found.text == location(root.child("Key")?.text ?? key), "Location \(found.text.debugDescription) is not the gateway's")
        case "restore": _ = try? RestoreRequestJudge.judge(body)
        case "bucket":
            guard kind.count == 2 else { return }
            for policy in policies {
                _ = try? BucketConfigurationJudge.judge(operation: .putBucketConfiguration(kind[1]), bucket: bucket,
                                                        headers: HeaderFields(), body: body, policy: policy)
            }
        default: return
        }
    }

    static func location(_ key: String) -> String { "https://gateway.example/\(bucket)/\(key)" }

    /// The rewritten answer, parsed; nil when it was refused, or an upstream error was passed on (checked here).
    static func rewritten(_ body: [UInt8], _ answer: MultipartAnswerRewriter.Answer) -> XMLTreeElement? {
        guard let result = try? MultipartAnswerRewriter(binder: binder, answer: answer).rewrite(body) else { return nil }
        if result.body.isEmpty {
            // Passed on as it came: a form's empty answer (its 204) has nothing to rewrite.
            Invariant.check(body.isEmpty, "a body of \(body.count) bytes was rewritten to none")
            return nil
        }
        let root = try? XMLTreeElement.parse(result.body)
        guard result.errorCode == nil, root?.name != "Error" else {
            let text = String(decoding: result.body, as: UTF8.self)
            let kept = UpstreamErrorSanitizer.hiddenElements.filter { name in
                root.map { !$0.descendants(name).isEmpty } ?? text.contains(try! Regex("<([^<>/:\\s]+:)?\(name)[\\s/>]"))
            }
            Invariant.check(kept.isEmpty, "the upstream error passed on still has \(kept): \(text)")
            return nil
        }
        Invariant.check(root != nil, "the rewritten answer does not parse: \(String(decoding: result.body, as: UTF8.self))")
        return root
    }

    static func checkInitiate(_ body: [UInt8], parsed: XMLTreeElement?) {
        if let parsed, parsed.name == "InitiateMultipartUploadResult", parsed.descendants("UploadId").count == 1,
           let id = parsed.child("UploadId")?.value, !id.isEmpty, !hidesMarkup(body) {
            let scanned = InitiateMultipartUploadResult.uploadId(fromXMLPrefix: body)
            Invariant.check(scanned == nil || scanned == id, "the prefix scan reads \(scanned ?? "") where the parser reads \(id)")
        }
        let binding = UploadIdBinder.Binding(upstreamId: "", bucket: bucket, key: key, initiator: "tester")
        guard let root = rewritten(body, .initiate(binding)), let upstreamId = parsed?.child("UploadId")?.value else { return }
        let verdict = root.child("UploadId").map { binder.verify($0.text, bucket: bucket, key: key) }
        Invariant.check(boundId(verdict) == upstreamId, "the initiation's id \(upstreamId.debugDescription) comes back as \(String(describing: verdict))")
    }

    static func checkListing(_ body: [UInt8], parsed: XMLTreeElement?) {
        let answer = MultipartAnswerRewriter.Answer.listUploads(bucket: bucket, sealedKeyMarker: nil) { !$0.hasPrefix(hidden) }
        guard let root = rewritten(body, answer), let parsed else { return }
        let encoded = parsed.child("EncodingType")?.value == "url"
        func key(_ upload: XMLTreeElement, _ name: String = "Key") -> String {
            let text = upload.child(name)?.text ?? ""
            return encoded ? PercentEncoding.decode(text) ?? "" : text
        }
        let next = key(root, "NextKeyMarker")
        Invariant.check(!next.hasPrefix(hidden), "the next page's marker names a hidden key: \(next.debugDescription)")
        if binder.isSealedListingMarker(next) {
            Invariant.check(binder.openListingMarker(next, bucket: bucket)?.key == key(parsed, "NextKeyMarker"),
                            "the sealed marker does not open to the store's \(key(parsed, "NextKeyMarker").debugDescription)")
        }
        let expected = parsed.children("Upload").filter { !key($0).hasPrefix(hidden) }
        let listed = root.children("Upload")
        Invariant.check(listed.count == expected.count, "\(listed.count) uploads listed, \(expected.count) visible")
        for (upload, original) in zip(listed, expected) {
            let verdict = upload.child("UploadId").map { binder.verify($0.text, bucket: bucket, key: key(upload)) }
            Invariant.check(boundId(verdict) == original.child("UploadId")?.value,
                            "listed upload \(key(upload).debugDescription) has id \(String(describing: verdict))")
        }
    }

    private static func boundId(_ verdict: UploadIdBinder.Verdict?) -> String? {
        if case .bound(let upload) = verdict { upload.upstreamId } else { nil }
    }

    /// Markup the prefix scan does not read as XML: comments, CDATA, processing
    /// instructions after the declaration.
    private static func hidesMarkup(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self)
        let afterDeclaration = text.hasPrefix("<?xml") ? String(text.drop { $0 != ">" }) : text
        return afterDeclaration.contains("<!") || afterDeclaration.contains("<?")
    }

    /// The elements and their texts (an element's text beside children, which S3 documents
    /// never have and `document()` does not write, left out), without attributes.
    struct Shape: Equatable, CustomStringConvertible {
        let name: String
        let text: String
        let children: [Shape]

        init(_ element: XMLTreeElement) {
            name = element.name
            text = element.children.isEmpty ? element.text : ""
            children = element.children.map(Shape.init)
        }

        var description: String {
            children.isEmpty ? "<\(name)>\(text.debugDescription)" : "<\(name)>[\(children.map(\.description).joined(separator: " "))]"
        }
    }
}
