extension AuditRecord {
    /// The longest value a record keeps, in UTF-8 bytes. Values a client chooses — a
    /// claimed access key, a key, header values — can be as long as the request head (60
    /// KiB by default, more once JSON-escaped); an unauthenticated client must not be able
    /// to make each of its refusals cost the trail that much.
    public static let maxValueBytes = 1024

    /// Cuts every value longer than `maxValueBytes` at that length (on a character
    /// boundary) and sets `truncated`. The writer applies it to every record it queues, so
    /// the chain covers the line as written.
    mutating func capValues() {
        // Nearly every record has no long value: it is checked, not rebuilt.
        guard hasLongValue else { return }
        var cut = false
        func capped(_ value: String) -> String {
            guard value.utf8.count > Self.maxValueBytes else { return value }
            cut = true
            var kept = ""
            var bytes = 0
            for character in value {
                bytes += character.utf8.count
                if bytes > Self.maxValueBytes { break }
                kept.append(character)
            }
            return kept
        }
        upstreamRequestId = upstreamRequestId.map(capped)
        accessKeyId = accessKeyId.map(capped)
        principal = principal.map(capped)
        bucket = bucket.map(capped)
        key = key.map(capped)
        denyReason = denyReason.map(capped)
        errorCode = errorCode.map(capped)
        uploadId = uploadId.map(capped)
        uploadInitiator = uploadInitiator.map(capped)
        headers = headers.map { $0.mapValues(capped) }
        mutations = mutations.map { AuditMutation(action: $0.action, name: $0.name, value: $0.value.map(capped)) }
        wouldHaveMutations = wouldHaveMutations.map { list in
            list.map { AuditMutation(action: $0.action, name: $0.name, value: $0.value.map(capped)) }
        }
        if cut { truncated = true }
    }

    private var hasLongValue: Bool {
        func long(_ value: String?) -> Bool { (value?.utf8.count ?? 0) > Self.maxValueBytes }
        if long(upstreamRequestId) || long(accessKeyId) || long(principal) || long(bucket) || long(key)
            || long(denyReason) || long(errorCode) || long(uploadId) || long(uploadInitiator) {
            return true
        }
        if let headers, headers.values.contains(where: { long($0) }) { return true }
        return mutations.contains { long($0.value) } || (wouldHaveMutations?.contains { long($0.value) } ?? false)
    }
}
