import Foundation
import Hummingbird
import Logging
import Messaging
import Metrics

/// The request context of every service: Hummingbird's core plus the authenticated caller.
public struct AppContext: AuthenticatedContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }
}

/// One dependency the service needs to be ready, and how to ask whether it answers.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var probe: @Sendable () async -> Bool

    public init(name: String, probe: @escaping @Sendable () async -> Bool) {
        self.name = name
        self.probe = probe
    }
}

extension ReadinessCheck {
    /// Runs the checks at once and records `service_ready` (1 or 0) and `service_dependency_up{dependency}`.
    @discardableResult
    static func run(_ checks: [ReadinessCheck]) async -> [String: Bool] {
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for check in checks {
                group.addTask { (check.name, await check.probe()) }
            }
            var results: [String: Bool] = [:]
            for await (name, up) in group { results[name] = up }
            return results
        }
        for (name, up) in results {
            Gauge(label: "service_dependency_up", dimensions: [("dependency", name)]).record(up ? 1 : 0)
        }
        Gauge(label: "service_ready").record(results.values.allSatisfy { $0 } ? 1 : 0)
        return results
    }
}

/// What `/health/ready` answers. `status` is `ready`, `degraded` (dependencies answer but a consumer
/// partition is stalled: still 200, the HTTP side works) or `not-ready` (503).
public struct ReadinessReport: Codable, Sendable, Equatable, ResponseEncodable {
    public var status: String
    public var checks: [String: String]
    /// The stalled consumer partitions, when there are any.
    public var stalled: [StalledPartition]?

    public init(status: String, checks: [String: String], stalled: [StalledPartition]? = nil) {
        self.status = status
        self.checks = checks
        self.stalled = stalled
    }

    /// Runs the checks, adds the `consumers` check, and records `service_ready` and
    /// `service_dependency_up{dependency}` (`consumers` is 0 while a partition is stalled).
    public static func current(_ checks: [ReadinessCheck], consumers: ConsumerHealth?) async -> ReadinessReport {
        let results = await ReadinessCheck.run(checks)
        let ready = results.values.allSatisfy { $0 }
        var report = ReadinessReport(status: ready ? "ready" : "not-ready", checks: results.mapValues { $0 ? "up" : "down" })
        if let consumers {
            let stalled = consumers.stalled()
            report.checks["consumers"] = stalled.isEmpty ? "up" : "degraded"
            Gauge(label: "service_dependency_up", dimensions: [("dependency", "consumers")]).record(stalled.isEmpty ? 1 : 0)
            if !stalled.isEmpty {
                report.stalled = stalled
                if ready { report.status = "degraded" }
            }
        }
        return report
    }
}

/// Builds the router every service shares: health, readiness, metrics, OpenAPI, problem+json errors,
/// request logs and metrics; service routes go under `/api/v1` behind bearer-token auth, open-data
/// routes under `/public` without it.
public func buildRouter(
    service: String,
    openAPI: String,
    readiness: [ReadinessCheck],
    authority: TokenAuthority,
    consumers: ConsumerHealth? = nil,
    publicRoutes: (RouterGroup<AppContext>) -> Void = { _ in },
    routes: (RouterGroup<AppContext>) -> Void
) -> Router<AppContext> {
    let router = Router(context: AppContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: StorableInputMiddleware())

    router.get("/health/live") { _, _ in
        ReadinessReport(status: "live", checks: [:])
    }
    router.get("/health/ready") { _, _ -> Response in
        let report = await ReadinessReport.current(readiness, consumers: consumers)
        let body = try JSONEncoder.problem.encode(report)
        return Response(
            status: report.status == "not-ready" ? .serviceUnavailable : .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }
    router.get("/metrics") { _, _ -> Response in
        // Each scrape answers readiness too, so an alert sees a service that is up but cannot work.
        _ = await ReadinessReport.current(readiness, consumers: consumers)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: MetricsSetup.exposition())))
    }
    router.get("/openapi.json") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: openAPI)))
    }
    let api = router.group("api/v1").add(middleware: BearerAuthMiddleware<AppContext>(authority: authority))
    api.get("me") { _, context -> PrincipalView in
        let principal = try context.requirePrincipal()
        return PrincipalView(subject: principal.subject, role: principal.role.rawValue, scope: principal.scope.description, name: principal.name)
    }
    routes(api)
    publicRoutes(router.group("public"))
    _ = service
    return router
}

/// `GET /api/v1/me`: lets an integrator check what a token grants.
public struct PrincipalView: Codable, Sendable, ResponseEncodable, Equatable {
    public var subject: String
    public var role: String
    public var scope: String
    public var name: String?

    public init(subject: String, role: String, scope: String, name: String?) {
        self.subject = subject
        self.role = role
        self.scope = scope
        self.name = name
    }
}

/// One structured log line per request: method, route, status, duration, request id.
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let requestID = request.headers[.init("X-Request-Id")!] ?? context.id
        var context = context
        context.logger[metadataKey: "request.id"] = "\(requestID)"
        do {
            let response = try await next(request, context)
            log(request, context: context, status: response.status.code, since: start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context: context, status: error.status.code, since: start)
            throw error
        } catch {
            log(request, context: context, status: 500, since: start)
            throw error
        }
    }

    private func log(_ request: Request, context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        // Probes and scrapes would drown the log; keep them at debug.
        let quiet = request.uri.path.hasPrefix("/health") || request.uri.path == "/metrics"
        context.logger.log(
            level: quiet ? .debug : (status >= 500 ? .error : .info), "http request",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
                "http.route": "\(context.endpointPath ?? "-")", "http.status": "\(status)",
                "http.duration_ms": "\(String(format: "%.2f", milliseconds))",
            ])
    }
}
