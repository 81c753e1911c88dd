import Testing
@testable import YAMLConfig
