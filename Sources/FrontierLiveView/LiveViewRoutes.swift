import Foundation
import FrontierReport
import FrontierSupport

/// What the live view answers, as a pure function of the request and the snapshot:
///
/// - `GET /` (or `/index.html`): the page, rendered with the snapshot (it works without scripts
///   and refreshes itself from `/api/status` with them);
/// - `GET /api/status`: the snapshot as JSON (`?records=0` leaves the trials out: the page's
///   poll needs only the progress);
/// - `GET /plots`: the frontier plots as an HTML fragment (what the page's script swaps in);
/// - `HEAD` of each: the same headers, no body;
/// - any other path: 404; any other method: 405 with `Allow: GET, HEAD`.
public enum LiveViewRoutes {
    public static func respond(to request: LiveHTTPRequest, snapshot: () -> LiveSnapshot) -> LiveHTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return .error(405, "\(request.method) is not served; use GET", headers: [("Allow", "GET, HEAD")])
        }
        switch request.path {
        case "/", "/index.html":
            return LiveHTTPResponse(status: 200, contentType: "text/html; charset=utf-8",
                                    headers: [("Content-Security-Policy", LiveViewPage.contentSecurityPolicy)],
                                    body: Data(LiveViewPage.render(snapshot()).utf8))
        case "/api/status":
            do {
                var current = snapshot()
                if request.query["records"] == "0" { current.records = [] }
                var json = try JSONCoding.encoder.encode(current)
                json.append(0x0A)
                return LiveHTTPResponse(status: 200, contentType: "application/json", body: json)
            } catch {
                return .error(500, "cannot encode the snapshot: \(error)")
            }
        case "/plots":
            return LiveHTTPResponse(status: 200, contentType: "text/html; charset=utf-8",
                                    body: Data(LiveViewPage.plots(snapshot().records).utf8))
        default:
            return .error(404, "no such page; try / or /api/status")
        }
    }
}
