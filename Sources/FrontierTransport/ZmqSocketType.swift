import CZMQ

/// The libzmq socket patterns Frontier uses. The coordinator is a ROUTER, each agent a DEALER;
/// REP serves ZAP; the others are here for tests and tools.
public enum ZmqSocketType: Sendable, CaseIterable, CustomStringConvertible {
    case router, dealer, rep, req, pair, pub, sub

    var rawValue: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .rep: ZMQ_REP
        case .req: ZMQ_REQ
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        }
    }

    public var description: String {
        switch self {
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .rep: "REP"
        case .req: "REQ"
        case .pair: "PAIR"
        case .pub: "PUB"
        case .sub: "SUB"
        }
    }
}
