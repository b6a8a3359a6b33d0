import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting

/// What a service's router answered, and the JSON it holds.
struct APIReply {
    var status: HTTPResponse.Status
    var body: String
    var headers: HTTPFields

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    var fieldsWithProblems: [String] { (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
}

/// A service's router under test, called the way a client would call the API.
protocol RouterHarness {
    var client: any TestClientProtocol { get }
}

extension RouterHarness {
    /// One request with a bearer token; `body` is encoded as JSON.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String, body: [String: Any]? = nil, headers extra: [String: String] = [:]
    ) async throws -> APIReply {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        for (name, value) in extra { headers[HTTPFields.Element.Name(name)!] = value }
        let buffer = try body.map { ByteBuffer(data: try JSONSerialization.data(withJSONObject: $0)) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: buffer) { response in
            APIReply(status: response.status, body: String(buffer: response.body), headers: response.headers)
        }
    }
}
