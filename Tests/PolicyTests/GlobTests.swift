@testable import Policy
import Testing

@Suite struct GlobTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let pattern: String
        let text: String
        let matches: Bool
        var testDescription: String { "\(pattern) ~ \(text)" }
    }

    static let cases: [Case] = [
        Case(pattern: "finance", text: "finance", matches: true),
        Case(pattern: "finance", text: "finance2", matches: false),
        Case(pattern: "fin-*", text: "fin-eu", matches: true),
        Case(pattern: "fin-*", text: "fin-", matches: true),
        Case(pattern: "fin-*", text: "fin", matches: false),
        Case(pattern: "*", text: "", matches: true),
        Case(pattern: "*", text: "a/b", matches: false),
        Case(pattern: "**", text: "a/b/c", matches: true),
        Case(pattern: "logs/*.csv", text: "logs/a.csv", matches: true),
        Case(pattern: "logs/*.csv", text: "logs/2024/a.csv", matches: false),
        Case(pattern: "logs/**.csv", text: "logs/2024/a.csv", matches: true),
        Case(pattern: "logs/**/*.csv", text: "logs/2024/01/a.csv", matches: true),
        Case(pattern: "a?c", text: "abc", matches: true),
        Case(pattern: "a?c", text: "a/c", matches: false),
        Case(pattern: "a?c", text: "aéc", matches: true),
        Case(pattern: "a?c", text: "ac", matches: false),
        Case(pattern: "[abc]x", text: "bx", matches: true),
        Case(pattern: "[abc]x", text: "dx", matches: false),
        Case(pattern: "[!abc]x", text: "dx", matches: true),
        Case(pattern: "[^abc]x", text: "ax", matches: false),
        Case(pattern: "log-[0-9][0-9]", text: "log-42", matches: true),
        Case(pattern: "log-[0-9][0-9]", text: "log-4a", matches: false),
        Case(pattern: "[]]", text: "]", matches: true),
        Case(pattern: "[é-ë]", text: "ê", matches: true),
        Case(pattern: "\\*", text: "*", matches: true),
        Case(pattern: "\\*", text: "a", matches: false),
        Case(pattern: "a*b*c", text: "aXbYbZc", matches: true),
        Case(pattern: "a*b*c", text: "aXbYbZ", matches: false),
        Case(pattern: "*.example.com", text: "www.example.com", matches: true),
        Case(pattern: "*.example.com", text: "example.com", matches: false),
        Case(pattern: "*.example.com", text: "evil.com.example.com", matches: true),
        Case(pattern: "arn:aws:kms:*:*:key/*", text: "arn:aws:kms:sichuan:domainiddomainiddomainiddoma0001:key/4f1cd4de-ab64-4807-920a-47fc42e7f0d0", matches: true),
        Case(pattern: "arn:aws:kms:*:*:key/*", text: "arn:aws:kms:sichuan:d:alias/x", matches: false),
        Case(pattern: "Finance", text: "finance", matches: false),
        Case(pattern: "*a*a*a*a*a*a*a*a*b", text: String(repeating: "a", count: 5000), matches: false),
    ]

    @Test(arguments: cases)
    func matching(_ testCase: Case) throws {
        #expect(try Glob(testCase.pattern).matches(testCase.text) == testCase.matches)
    }

    @Test(arguments: [
        ("", "the pattern is empty"),
        ("a[bc", "never closed"),
        ("a]", "']' without a matching '['"),
        ("a\\", "ends with an escape character"),
        ("a***", "is not a wildcard"),
        ("[z-a]", "is reversed"),
    ])
    func syntaxErrors(pattern: String, message: String) throws {
        let error = try #require(throws: Glob.SyntaxError.self) { try Glob(pattern) }
        #expect(error.message.contains(message))
    }

    @Test func literalAndPrefix() throws {
        #expect(try Glob("fin\\*ance").literalText == "fin*ance")
        #expect(try Glob("fin*").literalText == nil)
        #expect(try Glob("reports/2024/*").literalPrefixLength == "reports/2024/".utf8.count)
        #expect(try Glob("*x").literalPrefixLength == 0)
    }
}
