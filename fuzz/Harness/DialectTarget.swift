import Policy
import S3Core

/// Fuzz target `dialect`: the header table between the S3 (`x-amz-*`) and OBS (`x-obs-*`)
/// dialects (`HeaderDialect`), as the gateway applies it: the operation's row admits the
/// fields, the policy reads them (`UploadHeaders`, either dialect), then they are
/// translated into the upstream's dialect. The input is a request head (`RawRequestHead`)
/// whose method and target choose the operation.
///
/// Invariant: translation never changes what the policy read. The storage class,
/// encryption, KMS key, ACL, redirect, SSE-C fields, metadata and grants of the admitted
/// fields are the same after translation into either dialect (a field the upstream would
/// read differently from the policy is a bypass); and translating back, where every value
/// has an equivalent, returns them.
public enum DialectTarget {
    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let head = RawRequestHead(Substring(String(decoding: bytes, as: UTF8.self))),
              let target = try? RequestTarget(parsing: head.target),
              let address = try? S3AddressResolver(baseDomains: []).resolve(host: "h", target: target),
              case .success(let row) = S3OperationClassifier.row(method: head.method, address: address, target: target,
                                                                 headers: head.headers, acceptsOBSOperations: true)
        else { return }
        var admitted = head.headers
        admitted.removeAll { !row.admitsHeader($0.name.asciiLowercased) }
        for dialect in HeaderDialect.allCases {
            // Responses are translated leniently; that must never fail.
            _ = try? HeaderDialect.translate(head.headers, to: dialect, strict: false)
            guard let read = PolicyReading(admitted), let translated = try? HeaderDialect.translate(admitted, to: dialect) else { continue }
            let readAfter = PolicyReading(translated)
            Invariant.check(readAfter == read, "\(row.name): the policy read \(read), after translation to \(dialect.rawValue) \(readAfter.map { "\($0)" } ?? "ambiguous headers")")
            // A value with no equivalent in the other dialect is refused there: nothing to compare.
            guard let back = try? HeaderDialect.translate(translated, to: dialect == .s3 ? .obs : .s3) else { continue }
            let readBack = PolicyReading(back)
            Invariant.check(readBack == read, "\(row.name): translated to \(dialect.rawValue) and back, the policy reads \(readBack.map { "\($0)" } ?? "ambiguous headers")")
        }
    }

    /// What the policy reads from a request's fields, in the S3 dialect's terms.
    struct PolicyReading: Equatable, CustomStringConvertible {
        let fields: [UploadHeader: String]
        let metadata: [String: String]
        let grants: [String]

        init?(_ headers: HeaderFields) {
            guard let upload = try? UploadHeaders(reading: headers) else { return nil }
            fields = Dictionary(uniqueKeysWithValues: upload.fields.entries.map { ($0.header, $0.value.value) })
            metadata = Dictionary(upload.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            grants = upload.grants.map { entry in
                let name = HeaderDialect.obs.translateName(entry.name, to: .s3) ?? entry.name.asciiLowercased
                return "\(name): \(entry.value)"
            }
        }

        var description: String {
            let named = fields.map { "\($0.key.rawValue)=\($0.value)" }.sorted()
            return "[\((named + metadata.map { "meta \($0.key)=\($0.value)" }.sorted() + grants).joined(separator: ", "))]"
        }
    }
}
