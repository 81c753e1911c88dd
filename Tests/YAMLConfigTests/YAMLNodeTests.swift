import Testing
import YAMLConfig

@Suite struct YAMLNodeTests {
    @Test func scalarsAndMappingsAreTold() throws {
        let root = try YAMLNode.parse("a: word\nb: {c: 1}\n", file: "t.yaml").mapping(allowed: ["a", "b"])
        #expect(root["a"]!.isScalar)
        #expect(!root["b"]!.isScalar)
    }

    @Test func anUnknownKeyIsReportedWhereItIs() throws {
        let error = try #require(throws: ConfigError.self) {
            try YAMLNode.parse("a: 1\n  \nzz: 2\n", file: "t.yaml").mapping(allowed: ["a"])
        }
        #expect(error.description == "t.yaml:3:1: error: unknown key 'zz' (expected one of: a)")
    }

    @Test func aQuotedNumberIsNoInteger() throws {
        let root = try YAMLNode.parse("n: \"5\"\n", file: "t.yaml").mapping(allowed: ["n"])
        let error = try #require(throws: ConfigError.self) { try root["n"]!.int() }
        #expect(error.line == 1 && error.column == 4 && error.message == "n: expected an integer")
    }
}
