import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import FrontierTransport


/// CurveZMQ with the ZAP authenticator, key files and the authorised-keys folder.
@Suite struct CurveAuthTests {
    typealias S = ZmqTestSupport

    static func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("frontier-keys-\(UUID().uuidString)")
    }

    /// A CURVE ROUTER with a running authenticator over `authorized`.
    struct Server {
        let ctx: ZmqContext
        let auth: ZapAuthenticator
        let router: ZmqSocket
        let endpoint: String
        let keys: CurveKeyPair
        let log: LogLines

        init(authorized: URL) throws {
            ctx = try ZmqContext()
            keys = try CurveKeyPair.generate()
            log = LogLines()
            auth = ZapAuthenticator(context: ctx, authorizedKeys: AuthorizedKeys(directory: authorized, log: log.sink),
                                    log: log.sink)
            try auth.start()
            router = try ctx.socket(.router)
            try router.setCurveServer(keys)
            try router.setZapDomain("frontier")
            endpoint = try S.bindLoopback(router)
        }

        func client(_ pair: CurveKeyPair, id: String) throws -> ZmqSocket {
            let dealer = try ctx.socket(.dealer)
            try dealer.setRoutingId(S.data(id))
            try dealer.setCurveClient(serverPublicKey: keys.publicKey, keyPair: pair)
            try dealer.connect(endpoint)
            return dealer
        }
    }

    @Test func anAuthorisedClientGetsThroughAndTheServerSeesItsKey() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: agent.publicKey, name: "agent-1", in: dir)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }

        let dealer = try server.client(agent, id: "a1")
        try dealer.send([S.data("hello"), S.data("world")])
        let got = try #require(try server.router.receiveMessage(timeoutMs: 3000))
        #expect(got.frames == [S.data("a1"), S.data("hello"), S.data("world")])
        #expect(got.userId == agent.publicKey)
        #expect(got.peerAddress == "127.0.0.1")
        try server.router.send([S.data("a1"), S.data("welcome")])
        #expect(try dealer.receive(timeoutMs: 3000) == [S.data("welcome")])
        #expect(server.auth.acceptedCount == 1)
        #expect(server.auth.rejectedCount == 0)
        #expect(server.log.all.contains { $0.contains("accepted CURVE key \(agent.publicKey)") && $0.contains("agent-1.pub") })
    }

    @Test func anUnknownKeyIsRejectedUntilItsPubFileIsAdded() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let known = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: known.publicKey, name: "known", in: dir)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }

        let stranger = try CurveKeyPair.generate()
        let first = try server.client(stranger, id: "stranger")
        try first.send(S.data("let me in"))
        #expect(try server.router.receive(timeoutMs: 500) == nil)
        #expect(server.auth.rejectedCount >= 1)
        #expect(server.auth.acceptedCount == 0)
        #expect(server.auth.lastRejectedKey == stranger.publicKey)
        let rejection = try #require(server.auth.recentRejections.last)
        #expect(rejection.mechanism == "CURVE" && rejection.address == "127.0.0.1" && rejection.domain == "frontier")
        first.close()

        // The operator authorises it; no restart.
        try AuthorizedKeys.install(publicKey: stranger.publicKey, name: "stranger", in: dir)
        let second = try server.client(stranger, id: "stranger-2")
        try second.send(S.data("now?"))
        let got = try #require(try server.router.receiveMessage(timeoutMs: 3000))
        #expect(got.frames == [S.data("stranger-2"), S.data("now?")])
        #expect(got.userId == stranger.publicKey)
        #expect(server.auth.acceptedCount >= 1)

        // And revokes it: the next connection is refused again.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("stranger.pub"))
        let before = server.auth.rejectedCount
        let third = try server.client(stranger, id: "stranger-3")
        try third.send(S.data("again"))
        #expect(try server.router.receive(timeoutMs: 500) == nil)
        #expect(server.auth.rejectedCount > before)
    }

    @Test func aClientWithTheWrongServerKeyNeverGetsThrough() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: agent.publicKey, name: "agent", in: dir)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }
        let impostor = try CurveKeyPair.generate()  // not the server's key
        let dealer = try server.ctx.socket(.dealer)
        try dealer.setCurveClient(serverPublicKey: impostor.publicKey, keyPair: agent)
        try dealer.connect(server.endpoint)
        try dealer.send(S.data("x"))
        #expect(try server.router.receive(timeoutMs: 400) == nil)
        #expect(server.auth.acceptedCount == 0)
    }

    @Test func aCurveServerWithoutAnAuthenticatorRefusesToBind() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        try router.setCurveServer(try CurveKeyPair.generate())
        let error = try #require(throws: ZmqError.self) { try router.bind("tcp://127.0.0.1:*") }
        #expect(error.description.contains("ZapAuthenticator"))

        // A second authenticator in the same context can't bind the ZAP endpoint.
        let one = ZapAuthenticator(context: ctx, authorizedKeys: nil)
        try one.start()
        defer { one.stop() }
        let two = ZapAuthenticator(context: ctx, authorizedKeys: nil)
        let busy = try #require(throws: ZmqError.self) { try two.start() }
        #expect(busy.code == EADDRINUSE)
        try router.bind("tcp://127.0.0.1:*")  // now covered
    }

    @Test(arguments: [false, true])
    func nullConnectionsPassOnlyWhenAllowed(allowNull: Bool) throws {
        let ctx = try ZmqContext()
        let auth = ZapAuthenticator(context: ctx, authorizedKeys: nil, allowNull: allowNull)
        try auth.start()
        defer { auth.stop() }
        let router = try ctx.socket(.router)
        try router.setZapDomain("frontier")  // NULL consults ZAP only with a domain
        let endpoint = try S.bindLoopback(router)
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(S.data("plain"))
        try dealer.connect(endpoint)
        try dealer.send(S.data("hi"))
        let got = try router.receive(timeoutMs: allowNull ? 3000 : 400)
        if allowNull {
            #expect(got == [S.data("plain"), S.data("hi")])
            #expect(auth.acceptedCount == 1)
        } else {
            #expect(got == nil)
            #expect(auth.rejectedCount >= 1)
            #expect(auth.recentRejections.last?.mechanism == "NULL")
        }
    }

    @Test func garbageAtACurveServerDoesNotStopAuthorisedClients() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: agent.publicKey, name: "agent", in: dir)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }
        let port = try S.port(of: server.endpoint)
        for (i, mech) in ["CURVE", "NULL", "PLAIN"].enumerated() {
            let c = try S.RawConnection(port: port)
            c.write(S.greeting(mechanism: mech) + S.randomBytes(300, seed: UInt64(i)))
            c.close()
        }
        let dealer = try server.client(agent, id: "ok")
        try dealer.send(S.data("x"))
        #expect(try server.router.receive(timeoutMs: 3000) == [S.data("ok"), S.data("x")])
    }

    // MARK: - The ZAP policy without sockets

    @Test func zapDecisions() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: agent.publicKey, name: "lab-1", in: dir)
        let keys = AuthorizedKeys(directory: dir)
        let raw = Data(try #require(Z85.decode(agent.publicKey)))
        let other = Data(try #require(Z85.decode(try CurveKeyPair.generate().publicKey)))
        func decide(_ mech: String, _ creds: [Data] = [], version: String = "1.0", allowNull: Bool = false,
                    keys: AuthorizedKeys? = keys) -> ZapAuthenticator.Decision {
            ZapAuthenticator.decide(ZapRequest(version: version, mechanism: mech, credentials: creds), keys: keys, allowNull: allowNull)
        }
        #expect(decide("CURVE", [raw]) == .accept(userId: agent.publicKey, note: "authorised by lab-1.pub"))
        guard case .reject("400", _) = decide("CURVE", [other]) else { Issue.record("unknown key accepted"); return }
        guard case .reject("400", _) = decide("CURVE", [raw], keys: nil) else { Issue.record("accepted with no keys"); return }
        guard case .reject("400", _) = decide("CURVE", [Data(count: 31)]) else { Issue.record("short key accepted"); return }
        guard case .reject("400", _) = decide("NULL") else { Issue.record("NULL accepted"); return }
        #expect(decide("NULL", allowNull: true) == .accept(userId: "", note: "NULL allowed"))
        guard case .reject("400", _) = decide("PLAIN", [S.data("u"), S.data("p")], allowNull: true) else { Issue.record("PLAIN accepted"); return }
        guard case .reject("500", _) = decide("CURVE", [raw], version: "2.0") else { Issue.record("bad version accepted"); return }

        let request = ZapRequest(requestId: S.data("7"), domain: "d", address: "10.0.0.1", identity: S.data("id"),
                                 mechanism: "CURVE", credentials: [raw])
        #expect(ZapRequest(frames: request.frames) == request)
        #expect(ZapRequest(frames: Array(request.frames.prefix(5))) == nil)
        let reply = ZapReply(requestId: S.data("7"), statusCode: "200", statusText: "OK", userId: agent.publicKey)
        #expect(reply.frames.count == 6 && reply.frames[0] == S.data("1.0") && reply.frames[1] == S.data("7"))
    }

    // MARK: - Keys and key files

    @Test func z85MatchesTheSpecAndIsStrict() throws {
        // RFC 32's test vector.
        #expect(Z85.encode([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])
        #expect(Z85.decode("Hello~orld") == nil)
        #expect(Z85.decode("Hell") == nil)
        #expect(Z85.decode("%%%%%") == nil)  // above 2^32: not canonical
        let pair = try CurveKeyPair.generate()
        #expect(CurveKeyPair.isValidKey(pair.publicKey) && CurveKeyPair.isValidKey(pair.secretKey))
        #expect(pair.publicKey != pair.secretKey)
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(throws: ZmqError.self) { try CurveKeyPair(publicKey: try CurveKeyPair.generate().publicKey, secretKey: pair.secretKey) }
        #expect(!"\(pair)".contains(pair.secretKey))
    }

    @Test func keyFilesRoundTripWithTheRightModes() throws {
        let dir = Self.folder().appendingPathComponent("nested")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let pair = try CurveKeyPair.generate()
        try pair.write(to: dir, name: "agent")
        #expect(try CurveKeyPair.load(from: dir, name: "agent") == pair)
        let pub = dir.appendingPathComponent("agent.pub"), sec = dir.appendingPathComponent("agent.secret")
        #expect(try String(contentsOf: pub, encoding: .utf8) == pair.publicKey + "\n")
        #expect(try String(contentsOf: sec, encoding: .utf8) == pair.secretKey + "\n")
        #expect(Self.mode(pub) == 0o644)
        #expect(Self.mode(sec) == 0o600)
        #expect(Self.mode(dir) == 0o700)
        #expect(try CurveKeyPair.loadPublicKey(pub) == pair.publicKey)

        // Refuses to overwrite, and leaves both files as they were.
        let other = try CurveKeyPair.generate()
        let refusal = try #require(throws: KeyFileError.self) { try other.write(to: dir, name: "agent") }
        #expect(refusal.problem == .exists && refusal.description.contains(dir.path))
        #expect(try CurveKeyPair.load(from: dir, name: "agent") == pair)
        try other.write(to: dir, name: "agent", overwrite: true)
        #expect(try CurveKeyPair.load(from: dir, name: "agent") == other)
        #expect(Self.mode(sec) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["agent.pub", "agent.secret"])

        // Without its .pub, the pair comes from the secret alone.
        try FileManager.default.removeItem(at: pub)
        #expect(try CurveKeyPair.load(from: dir, name: "agent") == other)
        #expect(throws: KeyFileError.self) { try other.write(to: dir, name: "../x") }
    }

    @Test func damagedKeyFilesAreErrorsThatNameTheFile() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pair = try CurveKeyPair.generate()
        try pair.write(to: dir, name: "k")
        let pub = dir.appendingPathComponent("k.pub"), sec = dir.appendingPathComponent("k.secret")

        func loadError() throws -> KeyFileError {
            try #require(throws: KeyFileError.self) { try CurveKeyPair.load(from: dir, name: "k") }
        }
        // A .pub that isn't the secret's public half.
        try (try CurveKeyPair.generate().publicKey + "\n").write(to: pub, atomically: false, encoding: .utf8)
        var e = try loadError()
        #expect(e.path == pub.path && e.problem == .mismatch(secretFile: sec.path))
        #expect(e.description.hasPrefix(pub.path))
        try (pair.publicKey + "\n").write(to: pub, atomically: false, encoding: .utf8)

        // A truncated secret.
        try String(pair.secretKey.prefix(30)).write(to: sec, atomically: false, encoding: .utf8)
        e = try loadError()
        #expect(e.path == sec.path && e.problem == .wrongLength(30))
        #expect(e.description.contains(sec.path) && e.description.contains("40"))
        // Right length, not Z85.
        try String(repeating: "~", count: 40).write(to: sec, atomically: false, encoding: .utf8)
        e = try loadError()
        #expect(e.path == sec.path && e.problem == .notZ85)
        // One character changed: still Z85, but no longer the pair the .pub names.
        var chars = Array(pair.secretKey)
        chars[5] = chars[5] == "a" ? "b" : "a"
        try String(chars).write(to: sec, atomically: false, encoding: .utf8)
        e = try loadError()
        #expect(e.path == pub.path && e.problem == .mismatch(secretFile: sec.path))
        // Empty, and missing.
        try "\n# nothing\n".write(to: sec, atomically: false, encoding: .utf8)
        #expect(try loadError().problem == .empty)
        try FileManager.default.removeItem(at: sec)
        e = try loadError()
        #expect(e.path == sec.path && e.problem == .missing)
        #expect(throws: KeyFileError.self) { try CurveKeyPair.loadPublicKey(dir.appendingPathComponent("nope.pub")) }
    }

    @Test func keyLayoutsLoadAndSayHowToMakeWhatIsMissing() throws {
        let root = Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let coordDir = root.appendingPathComponent("coord"), agentDir = root.appendingPathComponent("agent")

        let missing = try #require(throws: KeyFileError.self) { try CoordinatorKeys.load(coordDir) }
        #expect(missing.path == coordDir.appendingPathComponent("coordinator.secret").path)
        #expect(missing.description.contains("frontier keygen"))

        let coord = try CoordinatorKeys.generate(in: coordDir)
        let loaded = try CoordinatorKeys.load(coordDir)
        #expect(loaded.keyPair == coord)
        #expect(loaded.authorizedKeys().count == 0)

        let agent = try AgentKeys.generate(in: agentDir)
        let noServer = try #require(throws: KeyFileError.self) { try AgentKeys.load(agentDir) }
        #expect(noServer.path == agentDir.appendingPathComponent("coordinator.pub").path)
        #expect(noServer.problem == .missing && noServer.description.contains("coordinator.pub"))
        try FileManager.default.copyItem(at: coordDir.appendingPathComponent("coordinator.pub"),
                                         to: agentDir.appendingPathComponent("coordinator.pub"))
        let agentKeys = try AgentKeys.load(agentDir)
        #expect(agentKeys.keyPair == agent && agentKeys.coordinatorPublicKey == coord.publicKey)

        try FileManager.default.removeItem(at: agentDir.appendingPathComponent("agent.secret"))
        let noSecret = try #require(throws: KeyFileError.self) { try AgentKeys.load(agentDir) }
        #expect(noSecret.description.contains("agent.secret") && noSecret.description.contains("frontier keygen"))

        try FileManager.default.removeItem(at: loaded.authorizedDirectory)
        let noFolder = try #require(throws: KeyFileError.self) { try CoordinatorKeys.load(coordDir) }
        #expect(noFolder.path == loaded.authorizedDirectory.path)
    }

    @Test func authorizedKeysFollowTheFolderAndSkipBadFiles() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: a.publicKey, name: "a", in: dir)
        try "# lab-2\n\(b.publicKey)\n".write(to: dir.appendingPathComponent("b.pub"), atomically: false, encoding: .utf8)
        try "not a key\n".write(to: dir.appendingPathComponent("broken.pub"), atomically: false, encoding: .utf8)
        try b.secretKey.write(to: dir.appendingPathComponent("b.secret"), atomically: false, encoding: .utf8)  // not *.pub
        try "junk".write(to: dir.appendingPathComponent(".swap.pub"), atomically: false, encoding: .utf8)  // hidden
        let log = LogLines()
        var keys = AuthorizedKeys(directory: dir, log: log.sink)
        #expect(keys.keys == [a.publicKey: "a.pub", b.publicKey: "b.pub"])
        #expect(keys.skipped.keys.sorted() == ["broken.pub"])
        #expect(log.all.contains { $0.contains("broken.pub") && $0.contains("40") })
        #expect(!keys.contains(b.secretKey))

        // Unchanged: no change reported, nothing logged again.
        let lines = log.all.count
        let unchanged = keys.refresh(log: log.sink)
        #expect(unchanged == false)
        #expect(log.all.count == lines)

        // Added, fixed and removed files are picked up.
        let c = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: c.publicKey, name: "c", in: dir)
        try (c.publicKey + "\n").write(to: dir.appendingPathComponent("broken.pub"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("a.pub"))
        let changed = keys.refresh(log: log.sink)
        #expect(changed)
        #expect(keys.keys == [b.publicKey: "b.pub", c.publicKey: "broken.pub"])
        #expect(keys.skipped.isEmpty)

        // A folder that disappears means no keys, not a crash.
        try FileManager.default.removeItem(at: dir)
        keys.refresh(log: log.sink)
        #expect(keys.count == 0 && keys.skipped["."] != nil)
    }

    static func mode(_ url: URL) -> Int {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return -1 }
        return Int(info.st_mode & 0o777)
    }
}
