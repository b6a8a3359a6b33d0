import Contracts
import Hummingbird

/// Refuses, on every route and before any handler runs, input the database could not store: the
/// character U+0000 or bytes that are not UTF-8, in the path, the query string or a JSON body.
/// PostgreSQL would refuse such text halfway through a request (a 500) or, worse, in a background
/// worker that then fails on every round; here it is a 400 that names where it was.
public struct StorableInputMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = Self.problem(inEncoded: request.uri.path) {
            throw ProblemDetails.badRequest("The path cannot be stored: \(problem)")
        }
        if let query = request.uri.query, let problem = Self.problem(inEncoded: query) {
            throw ProblemDetails.badRequest("The query string cannot be stored: \(problem)")
        }
        guard Self.mayCarryBody(request) else { return try await next(request, context) }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        if let problem = body.withUnsafeReadableBytes({ StorableText.problem(inJSON: $0) }) {
            throw ProblemDetails.badRequest("The body cannot be stored: \(problem)")
        }
        return try await next(request, context)
    }

    static func mayCarryBody(_ request: Request) -> Bool {
        switch request.method {
        case .get, .head, .options: false
        default: true
        }
    }

    /// The problem in percent-encoded text once decoded (`%00`, `%FF`), if any.
    static func problem(inEncoded text: String) -> StorableText.Problem? {
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "%")) || utf8.contains(0) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"),
                let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high != utf8.endIndex,
                let low = utf8.index(high, offsetBy: 1, limitedBy: utf8.endIndex), low != utf8.endIndex,
                let decoded = hex(utf8[high]).flatMap({ h in hex(utf8[low]).map { h << 4 | $0 } })
            {
                bytes.append(decoded)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return StorableText.problem(inText: bytes)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
