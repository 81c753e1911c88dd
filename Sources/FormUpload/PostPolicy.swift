import Foundation
import S3Core
import S3Signing

/// The policy document of a browser form upload (AWS S3 API reference, "POST Policy";
/// developer guide, "HTML Forms (AWS Signature Version 2)"): base64 of the UTF-8 JSON
///
///     { "expiration": "2007-12-01T12:00:00.000Z",
///       "conditions": [
///         {"acl": "public-read"},                        ; exact match
///         ["eq", "$acl", "public-read"],                  ; exact match
///         ["starts-with", "$key", "user/eric/"],          ; prefix ("" matches anything)
///         ["content-length-range", 1048576, 10485760] ] } ; file size, inclusive
///
/// Field names in conditions are matched ASCII case-insensitively; `bucket` is matched
/// against the bucket the request addressed. For `Content-Type`, `starts-with` applies to
/// each value of a comma-separated list. A field the form does not carry is matched as "".
/// Every form field except `policy`, the signature fields, `file` and `x-ignore-*` fields
/// must be named by at least one condition.
public struct PostPolicy: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// `{"field": "value"}` or `["eq", "$field", "value"]`; `field` as written, without `$`.
        case equals(field: String, value: String)
        /// `["starts-with", "$field", "prefix"]`.
        case startsWith(field: String, prefix: String)
        /// `["content-length-range", min, max]`, inclusive.
        case contentLengthRange(min: Int, max: Int)

        /// The field the condition names, lowercased; nil for `content-length-range`.
        var fieldKey: String? {
            switch self {
            case .equals(let field, _), .startsWith(let field, _): field.asciiLowercased
            case .contentLengthRange: nil
            }
        }

        /// The condition as S3 prints it in "Policy Condition failed: ...".
        public var description: String {
            switch self {
            case .equals(let field, let value): "[\"eq\", \"$\(field)\", \"\(value)\"]"
            case .startsWith(let field, let prefix): "[\"starts-with\", \"$\(field)\", \"\(prefix)\"]"
            case .contentLengthRange(let min, let max): "[\"content-length-range\", \(min), \(max)]"
            }
        }
    }

    /// The largest decoded policy document accepted (the whole form section is limited
    /// to 20 KB by S3 anyway).
    public static let maxDocumentSize = 20 * 1024

    public let expiration: Date
    public let conditions: [Condition]

    public init(expiration: Date, conditions: [Condition]) {
        self.expiration = expiration
        self.conditions = conditions
    }

    /// Decodes the `policy` form field: base64 (whitespace ignored) of a JSON document.
    public init(base64 text: String) throws(S3Error) {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw S3Error.invalidPolicyDocument("Unable to decode the policy: it is not base64.")
        }
        try self.init(json: data)
    }

    /// Parses the JSON policy document (with Foundation's JSONSerialization).
    public init(json data: Data) throws(S3Error) {
        guard data.count <= Self.maxDocumentSize else {
            throw S3Error.invalidPolicyDocument("The policy document is larger than \(Self.maxDocumentSize) bytes.")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data, options: []),
              let document = object as? [String: Any]
        else { throw S3Error.invalidPolicyDocument("Invalid JSON.") }
        guard let expirationValue = document["expiration"] else {
            throw S3Error.invalidPolicyDocument("Policy missing expiration.")
        }
        guard let expirationText = expirationValue as? String, let expiration = Self.parseExpiration(expirationText) else {
            throw S3Error.invalidPolicyDocument("Invalid 'expiration' value: '\(S3Error.printable(String(describing: expirationValue)))'")
        }
        guard let conditionsValue = document["conditions"] else {
            throw S3Error.invalidPolicyDocument("Policy missing conditions.")
        }
        guard let list = conditionsValue as? [Any] else {
            throw S3Error.invalidPolicyDocument("Invalid 'conditions' value: must be a list.")
        }
        var conditions: [Condition] = []
        for item in list {
            if let simple = item as? [String: Any] {
                // `{"acl": "private"}`: one field, one value (`[{}]` is S3's 400 too).
                guard simple.count == 1 else {
                    throw S3Error.invalidPolicyDocument("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
                }
                for (field, value) in simple {
                    guard let text = value as? String else {
                        throw S3Error.invalidPolicyDocument("Invalid Simple-Condition: value must be a string.")
                    }
                    conditions.append(.equals(field: field, value: text))
                }
            } else if let array = item as? [Any] {
                conditions.append(try Self.condition(array))
            } else {
                throw S3Error.invalidPolicyDocument("Invalid condition: must be an object or a list.")
            }
        }
        self.expiration = expiration
        self.conditions = conditions
    }

    private static func condition(_ array: [Any]) throws(S3Error) -> Condition {
        guard let operation = array.first as? String else {
            throw S3Error.invalidPolicyDocument("Invalid condition: the first element must be the operation.")
        }
        switch operation.asciiLowercased {
        case "eq", "starts-with":
            guard array.count == 3 else {
                throw S3Error.invalidPolicyDocument("Invalid '\(operation)' condition: it must have 3 elements.")
            }
            guard let fieldText = array[1] as? String, fieldText.hasPrefix("$"), fieldText.count > 1 else {
                throw S3Error.invalidPolicyDocument("Invalid '\(operation)' condition: the field must start with '$'.")
            }
            guard let value = array[2] as? String else {
                throw S3Error.invalidPolicyDocument("Invalid '\(operation)' condition: the value must be a string.")
            }
            let field = String(fieldText.dropFirst())
            return operation.asciiLowercased == "eq" ? .equals(field: field, value: value)
                : .startsWith(field: field, prefix: value)
        case "content-length-range":
            guard array.count == 3, let min = integer(array[1]), let max = integer(array[2]), min >= 0, max >= 0 else {
                throw S3Error.invalidPolicyDocument("Invalid content-length-range: it takes two non-negative integers.")
            }
            return .contentLengthRange(min: min, max: max)
        default:
            throw S3Error.invalidPolicyDocument("Invalid condition: unknown operation '\(S3Error.printable(operation))'.")
        }
    }

    /// A JSON integer, or a string of decimal digits (some SDKs send the range as strings).
    private static func integer(_ value: Any) -> Int? {
        if let text = value as? String {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(text)
        }
        if let number = value as? NSNumber {
            // JSON true/false also arrive as NSNumber (and `1 is Bool` holds for NSNumber):
            // Foundation's boolean number class is the only way to tell them apart.
            guard !String(describing: type(of: number)).contains("Boolean") else { return nil }
            let double = number.doubleValue
            guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
            return number.intValue
        }
        return nil
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (ISO 8601 in UTC, as every SDK writes it).
    static func parseExpiration(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"),
              bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
              bytes[16] == UInt8(ascii: ":")
        else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            let digits = bytes[20..<(bytes.count - 1)]
            guard bytes[19] == UInt8(ascii: "."), !digits.isEmpty, digits.count <= 9,
                  digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Double("0." + String(decoding: digits, as: UTF8.self))
            else { return nil }
            fraction = value
        }
        // Reuse the strict amz-date parser: YYYYMMDD'T'HHMMSS'Z'.
        var compact: [UInt8] = []
        for range in [0..<4, 5..<7, 8..<10, 10..<11, 11..<13, 14..<16, 17..<19] { compact += bytes[range] }
        let amzDate = String(decoding: compact + [UInt8(ascii: "Z")], as: UTF8.self)
        return SigningTime.parseAmzDate(amzDate)?.addingTimeInterval(fraction)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for a policy the gateway writes.
    static func formatExpiration(_ date: Date) -> String {
        let d = Array(SigningTime.amzDate(date)) // YYYYMMDDTHHMMSSZ
        return String(d[0..<4]) + "-" + String(d[4..<6]) + "-" + String(d[6..<8]) + "T"
            + String(d[9..<11]) + ":" + String(d[11..<13]) + ":" + String(d[13..<15]) + "Z"
    }

    // MARK: - Checks

    /// 403 "Policy expired." once `now` is past the expiration; 403 too for a policy valid
    /// for longer than `maxLifetime` from now (the signer picks the expiration, so without
    /// a bound a signed form could stay valid for ever; presigned URLs have the same bound).
    public func checkExpiration(now: Date, maxLifetime: TimeInterval) throws(S3Error) {
        guard now <= expiration else { throw S3Error.invalidAccordingToPolicy("Policy expired.") }
        guard expiration.timeIntervalSince(now) <= maxLifetime else {
            throw S3Error.invalidAccordingToPolicy("Policy expiration is more than \(Int(maxLifetime)) seconds in the future; the gateway accepts form policies valid for at most that long.")
        }
    }

    /// Checks every condition against the fields and the bucket, then that every field —
    /// and the bucket — is covered by a condition.
    ///
    /// - Parameters:
    ///   - fields: the form's text fields, with `${filename}` already expanded, no name twice.
    ///   - bucket: the bucket the request addressed.
    ///   - exempt: lowercase names that need no condition (`policy`, the signature fields);
    ///     `file` and `x-ignore-*` fields are always exempt.
    public func check(fields: [FormField], bucket: String, exempt: Set<String>) throws(S3Error) {
        var values: [String: String] = [:]
        for field in fields { values[field.name.asciiLowercased] = field.value }
        values["bucket"] = bucket
        for condition in conditions {
            guard let key = condition.fieldKey else { continue }
            let value = values[key] ?? ""
            let satisfied: Bool
            switch condition {
            case .equals(_, let expected):
                satisfied = value == expected
            case .startsWith(_, let prefix):
                if key == "content-type" {
                    satisfied = value.split(separator: ",", omittingEmptySubsequences: false)
                        .allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix(prefix) }
                } else {
                    satisfied = value.hasPrefix(prefix)
                }
            case .contentLengthRange:
                satisfied = true
            }
            guard satisfied else {
                throw S3Error.invalidAccordingToPolicy("Policy Condition failed: \(condition.description)")
            }
        }
        let covered = Set(conditions.compactMap(\.fieldKey))
        // The bucket is an input too, named by the URL: a policy must say which it is for.
        let extra = (covered.contains("bucket") ? [] : ["bucket"]) + fields.map(\.name).filter { name in
            let key = name.asciiLowercased
            return !covered.contains(key) && !exempt.contains(key) && key != "file" && !key.hasPrefix("x-ignore-")
        }
        guard extra.isEmpty else {
            throw S3Error.invalidAccordingToPolicy("Extra input fields: \(extra.map(S3Error.printable).joined(separator: ", "))")
        }
    }

    /// The intersection of every `content-length-range`, nil when there is none. When the
    /// ranges do not overlap, `min > max` and no size passes.
    public var contentLengthRange: SizeRange? {
        var range: SizeRange?
        for case .contentLengthRange(let min, let max) in conditions {
            range = SizeRange(min: Swift.max(range?.min ?? min, min), max: Swift.min(range?.max ?? max, max))
        }
        return range
    }
}

/// Inclusive bounds on the file's size.
public struct SizeRange: Sendable, Equatable {
    public var min: Int
    public var max: Int

    public init(min: Int, max: Int) {
        self.min = min
        self.max = max
    }

    /// 400 EntityTooSmall / EntityTooLarge unless `min <= size <= max`.
    public func check(_ size: Int) throws(S3Error) {
        guard size >= min else { throw S3Error.entityTooSmall(proposedSize: size, minSizeAllowed: min) }
        guard size <= max else { throw S3Error.entityTooLarge(proposedSize: size, maxSizeAllowed: max) }
    }
}
