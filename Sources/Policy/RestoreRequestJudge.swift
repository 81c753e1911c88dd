import S3Core

/// Judges a RestoreObject body (`RestoreRequest`). A plain restore — a temporary copy of
/// an archived object for `Days`, at a `Tier` — changes nothing an upload rule governs. A
/// SELECT restore (`<Type>SELECT</Type>` with `SelectParameters` and an `OutputLocation`)
/// writes its result as new objects under `OutputLocation.S3`, with their own storage
/// class, encryption, canned ACL, grants and metadata: uploads the gateway would have to
/// judge as PutObjects in another bucket. They are refused, with or without a policy
/// (docs/policy.md, "RestoreObject").
public enum RestoreRequestJudge {
    /// Throws 403 AccessDenied for a SELECT restore, 400 MalformedXML for a body that is
    /// not a RestoreRequest document; an empty body (a restore with the store's defaults)
    /// passes.
    public static func judge(_ body: [UInt8]) throws(S3Error) {
        guard let root = try XMLTreeElement.parseOptional(body) else { return }
        guard root.name == "RestoreRequest" else { throw S3Error.malformedXML() }
        let writesObjects = root.child("Type")?.value.uppercased() == "SELECT"
            || !root.descendants("OutputLocation").isEmpty || !root.descendants("SelectParameters").isEmpty
        if writesObjects {
            throw S3Error.accessDenied(
                "A SELECT restore writes new objects under its OutputLocation, which the gateway does not judge: it is refused")
        }
    }
}
