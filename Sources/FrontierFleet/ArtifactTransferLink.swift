import Foundation
import FrontierWire

/// The mailbox between the agent's socket loop and a thread that moves artifact bytes (the
/// runner's, inside a trial). A ZeroMQ socket belongs to one thread, so the transfer never
/// touches it: it `send`s into an outbox, which wakes the loop, and the loop writes the outbox to
/// the socket on its next turn; the loop hands the coordinator's artifact replies (and Rejects
/// naming an artifact) to the inbox, where the transfer `receive`s them.
///
/// Nothing here is reliable, on purpose: without a connection the loop drops what it takes from
/// the outbox, and a reconnect loses whatever was in flight. The transfers cope by waiting a
/// bounded time for each answer and then asking again from their own offset (`ArtifactUploader`,
/// `ArtifactFetcher`), so the mailbox needs no idea of sessions.
///
/// The inbox keeps at most `inboxLimitBytes` of data and `inboxLimitMessages` messages (a
/// transfer that gave up leaves late answers behind, and nothing else takes them); past either,
/// the oldest messages go.
///
/// How the runner gets it: the agent's command makes one link, hands it to its trial runner and
/// to `SweepAgent.init(options:runner:transfers:log:)`; the agent exposes it as
/// `SweepAgent.transfers`.
///
/// `@unchecked Sendable`: `outbox`, `inbox`, `inboxBytes` and `wakeUp` are read and written only
/// while holding `condition`.
public final class ArtifactTransferLink: @unchecked Sendable {
    public static let defaultInboxLimitBytes = 64 << 20
    public static let defaultInboxLimitMessages = 4096

    public let inboxLimitBytes: Int
    public let inboxLimitMessages: Int
    private let condition = NSCondition()
    private var outbox: [WireEnvelope.OneOf_Body] = []
    private var inbox: [WireEnvelope.OneOf_Body] = []
    private var inboxBytes = 0
    private var wakeUp: (@Sendable () -> Void)?

    public init(inboxLimitBytes: Int = ArtifactTransferLink.defaultInboxLimitBytes,
                inboxLimitMessages: Int = ArtifactTransferLink.defaultInboxLimitMessages) {
        self.inboxLimitBytes = inboxLimitBytes
        self.inboxLimitMessages = inboxLimitMessages
    }

    // MARK: The transfer's side

    /// Queues `body` for the coordinator and wakes the loop. It may be lost (see above).
    public func send(_ body: WireEnvelope.OneOf_Body) {
        let wake = condition.withLock {
            outbox.append(body)
            condition.broadcast()
            return wakeUp
        }
        wake?()
    }

    /// The oldest message in the inbox, waiting up to `timeout` seconds for one; nil if none came.
    public func receive(timeout: Double) -> WireEnvelope.OneOf_Body? {
        receive(timeout: timeout) { _ in true }
    }

    /// The oldest message in the inbox about artifact `sha256` (an ArtifactResume, ChunkAck,
    /// Data, or a Reject naming it), waiting up to `timeout` seconds; messages about other
    /// artifacts stay for their own transfer.
    public func receive(about sha256: String, timeout: Double) -> WireEnvelope.OneOf_Body? {
        receive(timeout: timeout) { Self.artifactHash(of: $0) == sha256 }
    }

    /// Drops every message waiting in the inbox about `sha256` (a new transfer of it starts
    /// without the previous one's late answers).
    public func discardInbox(about sha256: String) {
        condition.withLock {
            inbox.removeAll { Self.artifactHash(of: $0) == sha256 }
            inboxBytes = inbox.reduce(0) { $0 + Self.dataBytes($1) }
        }
    }

    private func receive(timeout: Double, where matches: (WireEnvelope.OneOf_Body) -> Bool) -> WireEnvelope.OneOf_Body? {
        let deadline = Date(timeIntervalSinceNow: max(0, timeout))
        return condition.withLock {
            while true {
                if let index = inbox.firstIndex(where: matches) {
                    let body = inbox.remove(at: index)
                    inboxBytes -= Self.dataBytes(body)
                    return body
                }
                if !condition.wait(until: deadline) { return nil }
            }
        }
    }

    // MARK: The loop's side

    /// Called by the loop when it starts: how a `send` wakes it.
    func attach(wakeUp: (@Sendable () -> Void)?) {
        condition.withLock { self.wakeUp = wakeUp }
    }

    /// Whether the loop hands `envelope` to the link instead of the agent's state machine: the
    /// coordinator's artifact replies, and a Reject naming an artifact (a refused transfer, not
    /// news about the trial's lease — the heartbeat's Reject carries that).
    static func isTransferReply(_ body: WireEnvelope.OneOf_Body?) -> Bool {
        switch body {
        case .artifactResume, .artifactChunkAck, .artifactData: return true
        case let .reject(reject): return !reject.sha256.isEmpty
        default: return false
        }
    }

    /// Everything the transfers sent since the last call, oldest first.
    func takeOutgoing() -> [WireEnvelope.OneOf_Body] {
        condition.withLock {
            defer { outbox.removeAll() }
            return outbox
        }
    }

    /// As `takeOutgoing`, waiting up to `timeout` seconds for something to be sent (for a loop
    /// that has no poll to wake, as in tests).
    func takeOutgoing(waitingUpTo timeout: Double) -> [WireEnvelope.OneOf_Body] {
        let deadline = Date(timeIntervalSinceNow: max(0, timeout))
        return condition.withLock {
            while outbox.isEmpty, condition.wait(until: deadline) {}
            defer { outbox.removeAll() }
            return outbox
        }
    }

    /// Hands a reply from the coordinator to the transfers.
    func deliver(_ body: WireEnvelope.OneOf_Body) {
        condition.withLock {
            inbox.append(body)
            inboxBytes += Self.dataBytes(body)
            while inbox.count > 1, inboxBytes > inboxLimitBytes || inbox.count > inboxLimitMessages {
                inboxBytes -= Self.dataBytes(inbox.removeFirst())
            }
            condition.broadcast()
        }
    }

    // MARK: Message fields

    static func artifactHash(of body: WireEnvelope.OneOf_Body) -> String? {
        switch body {
        case let .artifactResume(m): return m.sha256
        case let .artifactChunkAck(m): return m.sha256
        case let .artifactData(m): return m.sha256
        case let .reject(m): return m.sha256
        case let .artifactOffer(m): return m.sha256
        case let .artifactChunk(m): return m.sha256
        case let .artifactFetch(m): return m.sha256
        default: return nil
        }
    }

    private static func dataBytes(_ body: WireEnvelope.OneOf_Body) -> Int {
        switch body {
        case let .artifactData(m): return m.data.count
        case let .artifactChunk(m): return m.data.count
        default: return 0
        }
    }
}
