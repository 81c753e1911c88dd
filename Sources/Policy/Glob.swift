/// A glob pattern over bucket names, object keys, KMS key ids and host names:
///
///     *        any run of characters except '/'
///     **       any run of characters, '/' included
///     ?        one character except '/'
///     [abc]    one of the characters; ranges [a-z]; negated [!a-z] or [^a-z]
///     \c       the character c itself
///
/// Matching is case-sensitive and exact (the whole string), over UTF-8 with `?` and classes
/// consuming one Unicode scalar. The matcher runs in time proportional to pattern tokens ×
/// input length (a set of reachable positions, no backtracking), so no pattern can make it
/// slow.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    let tokens: [Token]
    /// The bytes a literal pattern matches (escapes removed), nil when it has a wildcard:
    /// most patterns in policies are literal (a bucket, a KMS key id), and are compared as
    /// bytes without running the matcher.
    let literalBytes: [UInt8]?

    enum Token: Sendable, Hashable {
        case literal([UInt8])
        case one
        case star
        case doubleStar
        case set(ranges: [ClosedRange<UInt32>], negated: Bool)
    }

    /// A pattern the glob syntax does not allow; `offset` is the character index in it.
    public struct SyntaxError: Error, Sendable, Equatable {
        public let message: String
        public let offset: Int
    }

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        tokens = try Self.compile(pattern)
        var literal: [UInt8]? = []
        for token in tokens {
            guard case .literal(let part) = token else { literal = nil; break }
            literal! += part
        }
        literalBytes = literal
    }

    public var description: String { pattern }

    /// Whether the pattern has no wildcard (it then matches exactly its own text).
    public var isLiteral: Bool { literalBytes != nil }

    /// The text the pattern matches when it is literal (escapes removed).
    public var literalText: String? { literalBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// The number of bytes every match starts with (the literal text before the first
    /// wildcard): the pattern's specificity as a key prefix.
    public var literalPrefixLength: Int {
        if case .literal(let bytes)? = tokens.first { return bytes.count }
        return 0
    }

    public func matches(_ text: some StringProtocol) -> Bool {
        text.withUTF8Bytes { matches(utf8: $0) }
    }

    func matches(utf8 input: UnsafeBufferPointer<UInt8>) -> Bool {
        if let literalBytes { return input.elementsEqual(literalBytes) }
        let count = input.count
        // The reachable positions before and after each token, on the stack.
        return withUnsafeTemporaryAllocation(of: Bool.self, capacity: 2 * (count + 1)) { positions in
            var current = UnsafeMutableBufferPointer(rebasing: positions[0...count])
            var next = UnsafeMutableBufferPointer(rebasing: positions[(count + 1)...])
            current.initialize(repeating: false)
            current[0] = true
            return reaches(input, current: &current, next: &next)
        }
    }

    /// The matcher's walk over the tokens; `current` holds the positions reachable before the
    /// first token (position 0).
    private func reaches(_ input: UnsafeBufferPointer<UInt8>, current: inout UnsafeMutableBufferPointer<Bool>,
                         next: inout UnsafeMutableBufferPointer<Bool>) -> Bool {
        let count = input.count
        for token in tokens {
            next.initialize(repeating: false)
            var any = false
            switch token {
            case .literal(let bytes):
                for start in 0...count where current[start] && start + bytes.count <= count {
                    if input[start..<(start + bytes.count)].elementsEqual(bytes) {
                        next[start + bytes.count] = true
                        any = true
                    }
                }
            case .one, .set:
                for start in 0..<max(count, 0) where current[start] {
                    guard input[start] != UInt8(ascii: "/"), let (scalar, length) = Self.scalar(in: input, at: start) else { continue }
                    if case .set(let ranges, let negated) = token {
                        guard ranges.contains(where: { $0.contains(scalar) }) != negated else { continue }
                    }
                    next[start + length] = true
                    any = true
                }
            case .star:
                var reachable = false
                for position in 0...count {
                    if current[position] { reachable = true }
                    if reachable && (position == count || !Self.isContinuation(input[position])) {
                        next[position] = true
                        any = true
                    }
                    if position < count && input[position] == UInt8(ascii: "/") { reachable = false }
                }
            case .doubleStar:
                if let first = current.firstIndex(of: true) {
                    for position in first...count where position == count || !Self.isContinuation(input[position]) {
                        next[position] = true
                    }
                    any = true
                }
            }
            guard any else { return false }
            swap(&current, &next)
        }
        return current[count]
    }

    @inline(__always)
    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }

    /// The scalar starting at `index` and its length in bytes.
    private static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        let length: Int
        var value: UInt32
        switch lead {
        case 0..<0x80: return (UInt32(lead), 1)
        case 0xC0..<0xE0: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0..<0xF0: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0..<0xF8: length = 4; value = UInt32(lead & 0x07)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard isContinuation(byte) else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        return (value, length)
    }

    private static func compile(_ pattern: String) throws(SyntaxError) -> [Token] {
        let scalars = Array(pattern.unicodeScalars)
        var tokens: [Token] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] }
        }
        func append(_ scalar: Unicode.Scalar) { literal += Array(String(scalar).utf8) }
        guard !scalars.isEmpty else { throw SyntaxError(message: "the pattern is empty", offset: 0) }
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\\":
                guard index + 1 < scalars.count else {
                    throw SyntaxError(message: "the pattern ends with an escape character '\\'", offset: index)
                }
                append(scalars[index + 1])
                index += 2
            case "*":
                var run = 0
                while index + run < scalars.count && scalars[index + run] == "*" { run += 1 }
                guard run <= 2 else {
                    throw SyntaxError(message: "'\(String(repeating: "*", count: run))' is not a wildcard: use '*' (within a path segment) or '**' (across '/')", offset: index)
                }
                flush()
                tokens.append(run == 2 ? .doubleStar : .star)
                index += run
            case "?":
                flush()
                tokens.append(.one)
                index += 1
            case "[":
                let open = index
                index += 1
                var negated = false
                if index < scalars.count && (scalars[index] == "!" || scalars[index] == "^") {
                    negated = true
                    index += 1
                }
                var ranges: [ClosedRange<UInt32>] = []
                var first = true
                while true {
                    guard index < scalars.count else {
                        throw SyntaxError(message: "'[' at character \(open + 1) is never closed with ']'", offset: open)
                    }
                    var low = scalars[index]
                    if low == "]" && !first { index += 1; break }
                    if low == "\\" {
                        guard index + 1 < scalars.count else {
                            throw SyntaxError(message: "the pattern ends with an escape character '\\'", offset: index)
                        }
                        index += 1
                        low = scalars[index]
                    }
                    first = false
                    index += 1
                    if index + 1 < scalars.count && scalars[index] == "-" && scalars[index + 1] != "]" {
                        var high = scalars[index + 1]
                        index += 2
                        if high == "\\" {
                            guard index < scalars.count else {
                                throw SyntaxError(message: "the pattern ends with an escape character '\\'", offset: index - 1)
                            }
                            high = scalars[index]
                            index += 1
                        }
                        guard low.value <= high.value else {
                            throw SyntaxError(message: "the range '\(low)-\(high)' is reversed", offset: open)
                        }
                        ranges.append(low.value...high.value)
                    } else {
                        ranges.append(low.value...low.value)
                    }
                }
                flush()
                tokens.append(.set(ranges: ranges, negated: negated))
            case "]":
                throw SyntaxError(message: "']' without a matching '['", offset: index)
            default:
                append(scalar)
                index += 1
            }
        }
        flush()
        return tokens
    }
}
