import Foundation
import S3Core

/// A bucket policy (`PUT /bucket?policy`), read with JSONSerialization as far as the judge
/// needs it: which statements open the bucket to everyone.
///
/// A statement is public when its `Effect` is Allow and its `Principal` is `"*"`, or a map
/// any of whose values is `"*"` or a list holding `"*"` (`{"AWS": "*"}`, OBS `{"ID": ["*"]}`),
/// or when it allows with a `NotPrincipal` (everyone but the listed). Conditions are not
/// read: a public statement with a condition is still counted public.
struct BucketPolicyDocument {
    /// Each public statement, as a message names it (`statement 'Sid'` or `statement 2`).
    let publicStatements: [String]

    /// Anything but a UTF-8 JSON object with a `Statement` (an object or a list of objects),
    /// and any object with a key given twice, is 400 MalformedPolicy.
    init(json bytes: [UInt8]) throws(S3Error) {
        guard bytes.first(where: { !Self.isJSONSpace($0) }) == UInt8(ascii: "{"), !bytes.contains(0),
              String(validating: bytes, as: UTF8.self) != nil
        else { throw S3Error.malformedPolicy() }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw S3Error.malformedPolicy()
        }
        guard let policy = parsed as? [String: Any], Self.firstDuplicateKey(bytes) == nil else {
            throw S3Error.malformedPolicy()
        }
        var statements: [[String: Any]] = []
        let statement = policy["Statement"]
        if let one = statement as? [String: Any] {
            statements = [one]
        } else if let many = statement as? [Any] {
            for item in many {
                guard let one = item as? [String: Any] else { throw S3Error.malformedPolicy() }
                statements.append(one)
            }
        } else {
            throw S3Error.malformedPolicy()
        }
        var found: [String] = []
        for (index, statement) in statements.enumerated() where Self.isPublic(statement) {
            if let sid = statement["Sid"] as? String, !sid.isEmpty {
                found.append("statement '\(sid)'")
            } else {
                found.append("statement \(index + 1)")
            }
        }
        publicStatements = found
    }

    /// Allow to everyone. `Effect` is compared in any case: a store lenient about it must
    /// not turn a statement the gateway skipped into a public one.
    static func isPublic(_ statement: [String: Any]) -> Bool {
        guard let effect = statement["Effect"] as? String, effect.asciiLowercased == "allow" else { return false }
        if statement["NotPrincipal"] != nil { return true }
        return namesEveryone(statement["Principal"])
    }

    static func namesEveryone(_ principal: Any?) -> Bool {
        if let text = principal as? String { return text == "*" }
        if let list = principal as? [Any] { return list.contains { ($0 as? String) == "*" } }
        if let map = principal as? [String: Any] { return map.values.contains { namesEveryone($0) } }
        return false
    }

    static func isJSONSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The first key given twice in one object, nil when none. JSONSerialization keeps one
    /// of the two silently and the store might keep the other: the gateway would judge a
    /// policy the store does not apply. Runs on text JSONSerialization accepted, so the
    /// token structure is valid; keys are compared unescaped (`"\u0053tatement"` is
    /// `"Statement"`).
    static func firstDuplicateKey(_ bytes: [UInt8]) -> String? {
        var objects: [Set<String>?] = []  // one per open bracket; nil for a list
        var expectingKey = false
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                objects.append([])
                expectingKey = true
            case UInt8(ascii: "["):
                objects.append(nil)
                expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = objects.popLast()
                expectingKey = false
            case UInt8(ascii: ","):
                expectingKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: ":"):
                expectingKey = false
            case UInt8(ascii: "\""):
                let (text, end) = string(bytes, openingAt: index)
                if expectingKey, let top = objects.indices.last {
                    if objects[top]?.contains(text) == true { return text }
                    objects[top]?.insert(text)
                }
                expectingKey = false
                index = end
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// The string whose opening quote is at `start`, unescaped, and the index of its
    /// closing quote.
    static func string(_ bytes: [UInt8], openingAt start: Int) -> (String, Int) {
        var units: [UInt16] = []
        var run: [UInt8] = []
        func flush() {
            guard !run.isEmpty else { return }
            units.append(contentsOf: String(decoding: run, as: UTF8.self).utf16)
            run.removeAll(keepingCapacity: true)
        }
        var index = start + 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            guard bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                run.append(bytes[index])
                index += 1
                continue
            }
            flush()
            let escaped = bytes[index + 1]
            if escaped == UInt8(ascii: "u"), index + 5 < bytes.count,
               let unit = UInt16(String(decoding: bytes[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16) {
                units.append(unit)
                index += 6
                continue
            }
            switch escaped {
            case UInt8(ascii: "b"): units.append(0x08)
            case UInt8(ascii: "f"): units.append(0x0C)
            case UInt8(ascii: "n"): units.append(0x0A)
            case UInt8(ascii: "r"): units.append(0x0D)
            case UInt8(ascii: "t"): units.append(0x09)
            default: units.append(UInt16(escaped))  // '"', '\\', '/'
            }
            index += 2
        }
        flush()
        return (String(decoding: units, as: UTF16.self), index)
    }
}
