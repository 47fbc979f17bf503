import Foundation
import Testing
@testable import FrontierTransport

/// What an authorised key file says about who may use it: `NAME.pub` admits `NAME` and
/// `NAME-*`; a `# agent-ids:` line replaces that with its own globs.
@Suite struct AgentIdentityTests {
    @Test func aKeyFileNamesTheAgentIdsItAdmits() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-ids-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let node7 = try CurveKeyPair.generate(), fleet = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: node7.publicKey, name: "node7", in: dir)
        try "# the whole Slurm allocation shares this key\n# agent-ids: *\n\(fleet.publicKey)\n"
            .write(to: dir.appendingPathComponent("fleet.pub"), atomically: true, encoding: .utf8)
        let keys = AuthorizedKeys(directory: dir)
        let a = try #require(keys.identity(for: node7.publicKey))
        #expect(a.name == "node7" && a.agentIds == ["node7", "node7-*"])
        let b = try #require(keys.identity(for: fleet.publicKey))
        #expect(b.name == "fleet" && b.agentIds == ["*"])
        #expect(keys.identity(for: try CurveKeyPair.generate().publicKey) == nil)
        #expect(AuthorizedKeys.agentIds(text: "#agent-ids: a-*, b\nKEY", name: "n") == ["a-*", "b"])
    }
}
