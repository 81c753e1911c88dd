/// An HTTP request-target in origin-form (RFC 9112 §3.2.1):
///
///     origin-form = absolute-path [ "?" query ]
///
/// The raw path and every raw query parameter are kept byte for byte, because signatures
/// are computed over what the client sent; the decoded forms are derived once here.
public struct RequestTarget: Sendable, Equatable {
    /// The path exactly as it came on the request line, e.g. `/bucket/my%20key`.
    public let rawPath: String
    /// The query exactly as it came (without the `?`), or nil when there was no `?`.
    public let rawQuery: String?
    /// The query parameters in arrival order.
    public let query: [QueryParameter]

    /// Parses an origin-form target. Anything else (absolute-form, authority-form, `*`, a
    /// path with a bad escape or non-UTF-8 bytes) is refused with 400 InvalidURI: the
    /// gateway never guesses what a target meant.
    public init(parsing target: String) throws(S3Error) {
        guard target.utf8.first == UInt8(ascii: "/") else {
            throw S3Error.invalidURI("the request target must start with '/'")
        }
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            rawPath = String(target[..<mark])
            let queryText = String(target[target.utf8.index(after: mark)...])
            rawQuery = queryText
            query = try QueryParameter.parse(queryText)
        } else {
            rawPath = target
            rawQuery = nil
            query = []
        }
        guard PercentEncoding.decode(rawPath) != nil else {
            throw S3Error.invalidURI("the request path has an invalid percent-encoding")
        }
    }

    /// A target the gateway builds itself: `rawPath` already encoded, the parameters as
    /// parsed (or made with `replacingValue`); the raw query is written from them.
    public init(rawPath: String, query: [QueryParameter]) {
        self.rawPath = rawPath
        self.query = query
        if query.isEmpty {
            rawQuery = nil
        } else {
            var text = ""
            for (index, parameter) in query.enumerated() {
                if index > 0 { text += "&" }
                text += parameter.rawName
                if let rawValue = parameter.rawValue { text += "=" + rawValue }
            }
            rawQuery = text
        }
    }

    /// The decoded value of the first parameter with this name; `""` for a parameter given
    /// without `=` (e.g. `?uploads`), nil when absent.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public func hasQuery(_ name: String) -> Bool {
        query.contains { $0.name == name }
    }

    /// The target as it would appear on a request line.
    public var text: String {
        rawQuery.map { "\(rawPath)?\($0)" } ?? rawPath
    }
}

/// One `name[=value]` element of a query string.
public struct QueryParameter: Sendable, Equatable {
    public let rawName: String
    /// nil when the element had no `=` at all (`?uploads`), which SigV2 and OBS sign
    /// differently from `?uploads=`.
    public let rawValue: String?
    public let name: String
    public let value: String

    public init(rawName: String, rawValue: String?) throws(S3Error) {
        guard let name = PercentEncoding.decode(rawName),
              let value = PercentEncoding.decode(rawValue ?? "")
        else {
            throw S3Error.invalidURI("the query string has an invalid percent-encoding")
        }
        self.rawName = rawName
        self.rawValue = rawValue
        self.name = name
        self.value = value
    }

    /// A parameter of the gateway's own, its name and value encoded with `UriEncode`.
    public init(name: String, value: String) {
        self.init(rawName: PercentEncoding.encode(name), rawValue: PercentEncoding.encode(value), name: name, value: value)
    }

    /// The parameter with another (decoded) value, encoded with `UriEncode`.
    public func replacingValue(_ value: String) -> QueryParameter {
        QueryParameter(rawName: rawName, rawValue: PercentEncoding.encode(value), name: name, value: value)
    }

    private init(rawName: String, rawValue: String?, name: String, value: String) {
        self.rawName = rawName
        self.rawValue = rawValue
        self.name = name
        self.value = value
    }

    /// Splits `a=1&b&c=` into its parameters; empty elements (`a&&b`) carry nothing and are
    /// dropped, as every S3 implementation does. Walked over the bytes: `&` and `=` are
    /// ASCII, so every element starts and ends on a character boundary.
    static func parse(_ query: String) throws(S3Error) -> [QueryParameter] {
        let bytes = query.utf8
        var parameters: [QueryParameter] = []
        parameters.reserveCapacity(bytes.reduce(1) { $1 == UInt8(ascii: "&") ? $0 + 1 : $0 })
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            if start < end {
                if let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) {
                    parameters.append(try QueryParameter(rawName: String(query[start..<equals]),
                                                         rawValue: String(query[bytes.index(after: equals)..<end])))
                } else {
                    parameters.append(try QueryParameter(rawName: String(query[start..<end]), rawValue: nil))
                }
            }
            start = end < bytes.endIndex ? bytes.index(after: end) : end
        }
        return parameters
    }
}
