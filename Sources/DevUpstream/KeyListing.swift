/// One page of a listing over sorted keys, as ListObjects, ListObjectsV2 and
/// ListMultipartUploads compute it.
///
/// Keys are compared as UTF-8 bytes (S3's order, not Swift's Unicode order). With a
/// delimiter, every key that has the delimiter after the prefix is rolled up into the
/// common prefix ending at its first delimiter; a common prefix counts as one entry
/// against `maxKeys`. A marker that is itself a common prefix skips every key under it,
/// so the next page never repeats a prefix the previous page ended with.
struct KeyListing<Entry> {
    enum Item {
        case entry(key: String, Entry)
        case commonPrefix(String)

        var key: String {
            switch self {
            case .entry(let key, _): key
            case .commonPrefix(let prefix): prefix
            }
        }
    }

    var items: [Item] = []
    var isTruncated = false

    /// The last key or prefix of the page: the next page starts after it.
    var lastKey: String? { items.last?.key }

    init(sorted entries: [(key: String, value: Entry)], prefix: String, delimiter: String?,
         after marker: String?, maxKeys: Int) {
        let delimiter = delimiter.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        let prefixBytes = Array(prefix.utf8)
        let markerBytes = marker.map { Array($0.utf8) }
        let skippedPrefix = markerBytes.flatMap { marker in
            Self.commonPrefix(of: marker, prefix: prefixBytes, delimiter: delimiter).flatMap { $0 == marker ? marker : nil }
        }
        var lastPrefix: [UInt8]?
        for (key, value) in entries {
            let keyBytes = Array(key.utf8)
            guard keyBytes.starts(with: prefixBytes) else { continue }
            if let markerBytes, !markerBytes.lexicographicallyPrecedes(keyBytes) { continue }
            if let skippedPrefix, keyBytes.starts(with: skippedPrefix) { continue }
            if let common = Self.commonPrefix(of: keyBytes, prefix: prefixBytes, delimiter: delimiter) {
                if common == lastPrefix { continue }
                guard items.count < maxKeys else { isTruncated = true; break }
                lastPrefix = common
                items.append(.commonPrefix(String(decoding: common, as: UTF8.self)))
            } else {
                guard items.count < maxKeys else { isTruncated = true; break }
                items.append(.entry(key: key, value))
            }
        }
    }

    /// `prefix` + the rest of `key` up to and including the first delimiter after the
    /// prefix; nil when the key has no delimiter there.
    private static func commonPrefix(of key: [UInt8], prefix: [UInt8], delimiter: [UInt8]?) -> [UInt8]? {
        guard let delimiter, key.starts(with: prefix) else { return nil }
        let rest = key[prefix.count...]
        guard let range = rest.firstRange(of: delimiter) else { return nil }
        return Array(key[..<range.upperBound])
    }
}
