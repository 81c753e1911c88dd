/// The audit lines as canonical JSON, member by member in sorted key order (the order of
/// the keys' bytes, as `JSONEncoder`'s `.sortedKeys` has it; CanonicalJSONWriterTests hold
/// these to `JSONEncoder`'s bytes for the same values).
extension AuditRecord {
    var canonicalJSON: [UInt8] {
        canonicalJSON(seq: seq, prev: prev, hash: hash).bytes
    }

    /// The line with these chain fields in place of the record's own (sealing writes them
    /// without copying the record to set them), and where the `hash` value's bytes start.
    func canonicalJSON(seq: UInt64?, prev: String?, hash: String?) -> (bytes: [UInt8], hashValueStart: Int?) {
        var writer = CanonicalJSONWriter(capacity: 768)
        var hashValueStart: Int?
        writer.object { json in
            json.member("access_key_id", accessKeyId)
            json.member("access_rule", accessRule)
            json.member("bucket", bucket)
            json.member("bytes_in", bytesIn)
            json.member("bytes_out", bytesOut)
            json.member("client_address", clientAddress)
            json.member("decision", decision.rawValue)
            json.member("denied_by", deniedBy)
            json.member("deny_reason", denyReason)
            json.member("duration_ms", durationMs)
            json.member("error_code", errorCode)
            hashValueStart = json.member("hash", hash)
            if let headers {
                json.key("headers")
                json.object { object in
                    for (name, value) in headers.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                        object.key(name)
                        object.string(value)
                    }
                }
            }
            json.member("key", key)
            json.member("method", method)
            json.mutations("mutations", mutations)
            json.member("operation", operation)
            json.member("policy_version", policyVersion)
            json.member("prev", prev)
            json.member("principal", principal)
            json.member("refused_in", refusedIn)
            json.member("request_id", requestId)
            json.member("rules", rules)
            json.member("schema", schema)
            json.member("seq", seq)
            json.member("status", status)
            json.member("suppressed", suppressed)
            json.member("time", time.description)
            json.member("truncated", truncated)
            json.member("upload_binding", uploadBinding)
            json.member("upload_id", uploadId)
            json.member("upload_initiator", uploadInitiator)
            json.member("upstream_request_id", upstreamRequestId)
            json.member("would_have", wouldHave?.rawValue)
            json.member("would_have_denied_by", wouldHaveDeniedBy)
            json.mutations("would_have_mutations", wouldHaveMutations)
        }
        return (writer.bytes, hashValueStart)
    }
}

extension AuditAnchor {
    var canonicalJSON: [UInt8] {
        canonicalJSON(seq: seq, prev: prev, hash: hash).bytes
    }

    /// As the record's: the line with these chain fields, and where the `hash` value starts.
    func canonicalJSON(seq: UInt64?, prev: String?, hash: String?) -> (bytes: [UInt8], hashValueStart: Int?) {
        var writer = CanonicalJSONWriter(capacity: 256)
        var hashValueStart: Int?
        writer.object { json in
            json.member("anchor", anchor.rawValue)
            hashValueStart = json.member("hash", hash)
            json.member("prev", prev)
            json.member("schema", schema)
            json.member("seq", seq)
            json.member("time", time.description)
        }
        return (writer.bytes, hashValueStart)
    }
}

extension CanonicalJSONWriter {
    /// `"name":[{"action":…,"name":…,"value":…}…]`.
    mutating func mutations(_ name: StaticString, _ mutations: [AuditMutation]?) {
        guard let mutations else { return }
        key(name)
        array { array in
            for mutation in mutations {
                array.separate()
                array.object { object in
                    object.member("action", mutation.action.rawValue)
                    object.member("name", mutation.name)
                    object.member("value", mutation.value)
                }
            }
        }
    }
}
