import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// An RFC 9457 problem (`application/problem+json`). `type` is a stable URI an integrator can switch
/// on; `detail` says what to fix. Never carries a stack trace.
public struct ProblemDetails: HTTPResponseError, Codable, Sendable, Equatable {
    public var type: String
    public var title: String
    /// The HTTP status code, repeated in the body as RFC 9457 asks.
    public var statusCode: Int
    public var detail: String?
    public var instance: String?
    /// Field-level complaints, e.g. `[{"field": "nationalId", "problem": "check digit is wrong"}]`.
    public var errors: [FieldProblem]?

    public struct FieldProblem: Codable, Sendable, Equatable {
        public var field: String
        public var problem: String

        public init(field: String, problem: String) {
            self.field = field
            self.problem = problem
        }
    }

    public init(type: String, title: String, status: HTTPResponse.Status, detail: String? = nil, errors: [FieldProblem]? = nil) {
        self.type = type
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.errors = errors
    }

    public static let typeBase = "https://city.example/problems/"

    public var status: HTTPResponse.Status { .init(code: statusCode) }

    enum CodingKeys: String, CodingKey {
        case type, title, statusCode = "status", detail, instance, errors
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var problem = self
        problem.instance = problem.instance ?? request.uri.path
        let body = try JSONEncoder.problem.encode(problem)
        return Response(
            status: .init(code: problem.statusCode),
            headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    // The common ones.
    public static func badRequest(_ detail: String, errors: [FieldProblem]? = nil) -> Self {
        .init(type: typeBase + "invalid-request", title: "The request is not valid", status: .badRequest, detail: detail, errors: errors)
    }
    public static func unauthorized(_ detail: String) -> Self {
        .init(type: typeBase + "unauthorized", title: "Authentication required", status: .unauthorized, detail: detail)
    }
    public static func forbidden(_ detail: String) -> Self {
        .init(type: typeBase + "forbidden", title: "Not allowed", status: .forbidden, detail: detail)
    }
    public static func notFound(_ detail: String) -> Self {
        .init(type: typeBase + "not-found", title: "Not found", status: .notFound, detail: detail)
    }
    /// The request is well-formed but names something that does not exist (an unknown parent, household, ...).
    public static func unknownReference(_ detail: String, errors: [FieldProblem]? = nil) -> Self {
        .init(type: typeBase + "unknown-reference", title: "Refers to something that does not exist", status: .unprocessableContent, detail: detail, errors: errors)
    }
    public static func conflict(_ detail: String, errors: [FieldProblem]? = nil) -> Self {
        .init(type: typeBase + "conflict", title: "Conflicts with the current state", status: .conflict, detail: detail, errors: errors)
    }
    public static func unavailable(_ detail: String) -> Self {
        .init(type: typeBase + "unavailable", title: "Temporarily unavailable", status: .serviceUnavailable, detail: detail)
    }
    public static let internalError = Self(
        type: typeBase + "internal", title: "Internal error", status: .internalServerError,
        detail: "The request failed on our side; it has been logged.")
}

/// A domain error that knows its problem; services make their typed errors conform.
public protocol ProblemConvertible: Error {
    var problem: ProblemDetails { get }
}

extension JSONEncoder {
    static let problem: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// Turns every error leaving a route into problem+json, logging the unexpected ones with context.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    /// The server's message when `error` is PostgreSQL's "data exception" (SQLSTATE class 22).
    static func dataException(in error: any Error) -> String? {
        let error = (error as? PostgresTransactionError)?.closureError ?? error
        guard let error = error as? PSQLError, error.serverInfo?[.sqlState]?.hasPrefix("22") == true else { return nil }
        return error.serverInfo?[.message] ?? "a value is out of range or malformed"
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            throw problem
        } catch let convertible as any ProblemConvertible {
            throw convertible.problem
        } catch let error as HTTPError {
            throw ProblemDetails(
                type: ProblemDetails.typeBase + (error.status == .notFound ? "not-found" : "http-\(error.status.code)"),
                title: error.status.reasonPhrase, status: error.status, detail: error.body)
        } catch let error as DecodingError {
            throw ProblemDetails.badRequest("The JSON body does not fit: \(EventCoding.explain(error))")
        } catch let error as any HTTPResponseError {
            throw ProblemDetails(type: ProblemDetails.typeBase + "http-\(error.status.code)", title: error.status.reasonPhrase, status: error.status)
        } catch where Self.dataException(in: error) != nil {
            // The database refused a value of the request (out of range, not a valid date, ...): the
            // transaction rolled back, nothing was written. A route should have refused it first.
            context.logger.warning(
                "request refused by the database", metadata: ["error": "\(String(reflecting: error))", "http.path": "\(request.uri.path)"])
            throw ProblemDetails.badRequest("A value of the request cannot be stored: \(Self.dataException(in: error) ?? "")")
        } catch {
            context.logger.error(
                "request failed", metadata: ["error": "\(String(reflecting: error))", "http.path": "\(request.uri.path)"])
            throw ProblemDetails.internalError
        }
    }
}
