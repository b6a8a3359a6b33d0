import Contracts
import Crypto
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// Tables the HTTP runtime keeps in each service's schema (after the messaging tables, before the
/// service's own).
public enum RuntimeSchema {
    public static let migrations: [Migration] = [
        Migration(
            version: "0001_http_idempotency_keys",
            sql: """
                -- A POST sent again with the same Idempotency-Key gets the first answer back instead of a second effect.
                CREATE TABLE idempotency_key (
                    subject       text NOT NULL,
                    key           text NOT NULL,
                    request_hash  text NOT NULL,
                    status        integer NOT NULL,
                    body          text NOT NULL,
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (subject, key)
                );
                CREATE INDEX idempotency_key_created ON idempotency_key (created_at);
                """),
    ]
}

/// What a write route answers: a status and a JSON body.
public struct APIResult: Sendable {
    public var status: HTTPResponse.Status
    public var body: Data

    public init<Body: Encodable>(_ status: HTTPResponse.Status, _ value: Body) throws {
        self.status = status
        self.body = try JSONEncoder.api.encode(value)
    }

    init(status: HTTPResponse.Status, body: Data) {
        self.status = status
        self.body = body
    }

    public func response(replayed: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if replayed { headers[.init("Idempotent-Replayed")!] = "true" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}

extension JSONEncoder {
    /// How every API body is written: sorted keys (stable diffs for integrators), ISO-8601 dates.
    public static let api: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// Honours `Idempotency-Key` on POSTs that create things. The key is recorded in the same transaction
/// as the effect, so either both happen or neither does; a retry with the same key and body gets the
/// recorded answer (marked `Idempotent-Replayed: true`), the same key with another body is refused.
public enum IdempotentWrite {
    public static let header = HTTPFields.Element.Name("Idempotency-Key")!

    /// Runs `perform` in a transaction on `database`, once per (caller, key).
    public static func run(
        _ request: Request, body: ByteBuffer, subject: String, database: Database, logger: Logger,
        perform: @escaping @Sendable (PostgresConnection) async throws -> APIResult
    ) async throws -> Response {
        guard let key = request.headers[header] else {
            return try await database.transaction { connection in try await perform(connection) }.response()
        }
        guard (1...200).contains(key.count) else {
            throw ProblemDetails.badRequest("Idempotency-Key must have 1 to 200 characters.")
        }
        var hasher = SHA256()
        hasher.update(data: Data("\(request.method) \(request.uri.path)\n".utf8))
        hasher.update(data: canonical(body))
        let hash = hex(hasher.finalize())
        let outcome: (APIResult, Bool) = try await database.transaction { connection in
            // Takes the key first: a concurrent retry waits here until this transaction ends, then replays.
            let claimed = try await connection.query(
                """
                INSERT INTO idempotency_key (subject, key, request_hash, status, body) VALUES (\(subject), \(key), \(hash), 0, '')
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            var fresh = false
            for try await _ in claimed { fresh = true }
            if fresh {
                let result = try await perform(connection)
                try await connection.query(
                    "UPDATE idempotency_key SET status = \(Int(result.status.code)), body = \(String(decoding: result.body, as: UTF8.self)) WHERE subject = \(subject) AND key = \(key)",
                    logger: logger)
                return (result, false)
            }
            let rows = try await connection.query(
                "SELECT request_hash, status, body FROM idempotency_key WHERE subject = \(subject) AND key = \(key)", logger: logger)
            for try await (storedHash, status, storedBody) in rows.decode((String, Int, String).self) {
                guard storedHash == hash else {
                    throw ProblemDetails(
                        type: ProblemDetails.typeBase + "idempotency-key-reused", title: "Idempotency-Key already used",
                        status: .unprocessableContent,
                        detail: "This Idempotency-Key was used for a different request; use a new key for a new request.")
                }
                return (APIResult(status: .init(code: status), body: Data(storedBody.utf8)), true)
            }
            throw ProblemDetails.conflict("The Idempotency-Key vanished while it was read; retry.")
        }
        return outcome.0.response(replayed: outcome.1)
    }
}

/// The body with JSON key order and spacing normalised, so a retry that serialises the same object
/// differently is still recognised as the same request.
func canonical(_ body: ByteBuffer) -> Data {
    let data = Data(buffer: body)
    guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
        let normalised = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
    else { return data }
    return normalised
}

extension Request {
    /// The body, up to `limit` bytes (413 beyond).
    public func collectBody(limit: Int = 1 << 20) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch {
            throw ProblemDetails(
                type: ProblemDetails.typeBase + "too-large", title: "Request body too large", status: .contentTooLarge,
                detail: "Send at most \(limit) bytes in one request.")
        }
    }
}

/// Decodes a JSON request body; what does not fit becomes a 400 naming the field.
public func decodeJSON<Value: Decodable>(_ type: Value.Type, from body: ByteBuffer) throws -> Value {
    guard body.readableBytes > 0 else { throw ProblemDetails.badRequest("The request needs a JSON body.") }
    do {
        return try EventCoding.decoder.decode(type, from: Data(buffer: body))
    } catch let error as DecodingError {
        throw ProblemDetails.badRequest("The JSON body does not fit: \(EventCoding.explain(error))")
    }
}
