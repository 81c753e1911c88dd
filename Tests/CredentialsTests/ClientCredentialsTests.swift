import Credentials
import Testing
import YAMLConfig

@Suite struct ClientCredentialsTests {
    @Test func loadsPrincipalsAndGroups() throws {
        let credentials = try ClientCredentials.parse("""
            version: 1
            clients:
              - access_key: GWALICE000000000001
                secret: s3cr3t
                principal: alice
                groups: [finance]
            """, file: "clients.yaml")
        let identity = try #require(credentials.identity(forAccessKey: "GWALICE000000000001"))
        #expect(identity.principal == "alice" && identity.groups == ["finance"] && identity.upstreamProfile == "default")
        #expect(credentials.secret(forAccessKey: "GWALICE000000000001") == "s3cr3t")
        #expect(!credentials.description.contains("s3cr3t"))
    }

    @Test func aDuplicatePrincipalIsALocatedError() throws {
        let error = try #require(throws: ConfigError.self) {
            try ClientCredentials.parse("""
                version: 1
                clients:
                  - {access_key: A1, secret: x, principal: alice}
                  - {access_key: A2, secret: y, principal: alice}
                """, file: "clients.yaml")
        }
        #expect(error.line == 4)
        #expect(error.message.contains("principal 'alice' already has an access key"))
    }
}
