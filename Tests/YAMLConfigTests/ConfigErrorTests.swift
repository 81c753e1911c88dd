import Testing
import YAMLConfig

@Suite("ConfigError")
struct ConfigErrorTests {
    @Test("description is file:line:column: error: message", arguments: [
        (ConfigError(file: "clients.yaml", line: 12, column: 5,
                     message: "clients[1].secret_env: environment variable ALICE_SECRET is not set"),
         "clients.yaml:12:5: error: clients[1].secret_env: environment variable ALICE_SECRET is not set"),
        (ConfigError(file: "/etc/obsgate/gateway.yaml", line: 1, column: 1, message: "the document is empty"),
         "/etc/obsgate/gateway.yaml:1:1: error: the document is empty"),
        (ConfigError(file: "", line: 0, column: 0, message: ""), ":0:0: error: "),
        (ConfigError(file: "dir with space/é.yaml", line: 100_000, column: 42, message: "a: b: c"),
         "dir with space/é.yaml:100000:42: error: a: b: c"),
    ])
    func description(_ error: ConfigError, _ expected: String) {
        #expect(error.description == expected)
        #expect("\(error)" == expected)
        #expect(String(describing: error) == expected)
    }

    @Test func fields() {
        let error = ConfigError(file: "f", line: 2, column: 3, message: "m")
        #expect(error.file == "f")
        #expect(error.line == 2)
        #expect(error.column == 3)
        #expect(error.message == "m")
    }

    @Test func equality() {
        let error = ConfigError(file: "f", line: 2, column: 3, message: "m")
        #expect(error == ConfigError(file: "f", line: 2, column: 3, message: "m"))
        #expect(error != ConfigError(file: "g", line: 2, column: 3, message: "m"))
        #expect(error != ConfigError(file: "f", line: 4, column: 3, message: "m"))
        #expect(error != ConfigError(file: "f", line: 2, column: 4, message: "m"))
        #expect(error != ConfigError(file: "f", line: 2, column: 3, message: "n"))
    }

    @Test func throwsAsAnError() {
        func fail() throws { throw ConfigError(file: "f", line: 1, column: 1, message: "m") }
        #expect(throws: ConfigError(file: "f", line: 1, column: 1, message: "m")) { try fail() }
    }
}
