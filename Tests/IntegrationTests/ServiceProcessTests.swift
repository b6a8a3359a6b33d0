import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The service executables as an operator meets them: started with an environment, stopped with a signal.
    @Suite struct ServiceProcess {
        static let secret = "integration-test-secret-0123456789abcdef"

        func environment(port: Int, overrides: [String: String?] = [:]) -> [String: String] {
            var environment = Stack.environment
            environment["HTTP_HOST"] = "127.0.0.1"
            environment["HTTP_PORT"] = String(port)
            environment["AUTH_JWT_SECRET"] = Self.secret
            environment["REGISTRY_ID_DIGEST_KEY"] = "test-id-digest-key-0123456789abcdef0123"
            environment["BID_SEALING_KEY"] = "test-bid-sealing-key-0123456789abcdef0123"
            environment["POSTGRES_SCHEMA"] = Stack.uniqueName("svc")
            environment["STARTUP_TIMEOUT_SECONDS"] = "3"
            environment["LOG_LEVEL"] = "warning"
            for (key, value) in overrides { environment[key] = value }
            return environment
        }

        /// A port the kernel just handed out and took back: free unless something grabs it in between.
        static func freePort() -> Int {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socketFD) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        @Test(arguments: ["registry", "mediation", "volunteer-matching", "bidding"])
        func missingConfigurationIsReportedAllAtOnceWithExitCode78(service: String) async throws {
            let child = try ChildProcess(
                Stack.executable(service), environment: ["PATH": "/usr/bin:/bin", "HTTP_PORT": "not-a-port"])
            let ended = try #require(await child.wait(timeout: .seconds(10)), "\(service) hung on bad configuration")
            #expect(ended.status == 78)
            for variable in ["POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "KAFKA_BOOTSTRAP_SERVERS", "AUTH_JWT_SECRET"] {
                #expect(ended.stderr.contains(variable), "\(variable) not named in: \(ended.stderr)")
            }
            #expect(ended.stderr.contains("HTTP_PORT must be a whole number, got 'not-a-port'"))
            if service == "registry" {
                #expect(ended.stderr.contains("REGISTRY_ID_DIGEST_KEY"), "the registry's own setting is reported with the rest")
            }
        }

        @Test func anUnreachableBrokerEndsTheStartWithExitCode69InsteadOfHanging() async throws {
            let child = try ChildProcess(
                Stack.executable("registry"),
                environment: environment(port: Self.freePort(), overrides: ["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"]))
            let ended = try #require(await child.wait(timeout: .seconds(20)), "registry hung with an unreachable broker")
            #expect(ended.status == 69)
            #expect(ended.stderr.contains("Kafka brokers 127.0.0.1:1 did not answer"), "\(ended.stderr)")
        }

        @Test func anUnreachableDatabaseEndsTheStartWithExitCode69InsteadOfHanging() async throws {
            let child = try ChildProcess(
                Stack.executable("registry"), environment: environment(port: Self.freePort(), overrides: ["POSTGRES_PORT": "1"]))
            let ended = try #require(await child.wait(timeout: .seconds(20)), "registry hung with an unreachable database")
            #expect(ended.status == 69)
            #expect(ended.stderr.contains("PostgreSQL at 127.0.0.1:1 did not answer"), "\(ended.stderr)")
        }

        @Test func readinessFollowsPostgreSQLAndSIGTERMStopsCleanly() async throws {
            let port = Self.freePort()
            let child = try ChildProcess(Stack.executable("registry"), environment: environment(port: port, overrides: ["LOG_LEVEL": "debug"]))
            defer { child.stop() }
            let ready = URL(string: "http://127.0.0.1:\(port)/health/ready")!
            try await Stack.eventually(timeout: .seconds(20), "registry ready") { try await status(of: ready) == 200 }

            let stack = try #require(Stack.environment["CITY_STACK_SCRIPT"], "CITY_STACK_SCRIPT not set by the test command")
            try await runScript(stack, "pg-stop")
                        do {
                try await Stack.eventually(timeout: .seconds(15), "readiness to drop") { try await status(of: ready) == 503 }
                let report = try JSONDecoder().decode([String: AnyCodable].self, from: Data(try await fetch(ready).body.utf8))
                #expect(report["status"]?.text == "not-ready")
                // Liveness is about the process, not its dependencies.
                #expect(try await status(of: URL(string: "http://127.0.0.1:\(port)/health/live")!) == 200)
            } catch {
                try await runScript(stack, "pg-start")
                throw error
            }
            try await runScript(stack, "pg-start")
            try await Stack.eventually(timeout: .seconds(20), "readiness to return") { try await status(of: ready) == 200 }

            child.signal(SIGTERM)
            let ended = try #require(await child.wait(timeout: .seconds(20)), "registry did not stop on SIGTERM:\n\(child.outputTail())")
            #expect(ended.reason == .exit && ended.status == 0, "\(ended.stderr)")
        }

        private func status(of url: URL) async throws -> Int {
            (try? await fetch(url).status) ?? 0
        }

        /// A GET over a plain socket: the test needs a status and a small body, nothing more.
        private func fetch(_ url: URL) async throws -> (status: Int, body: String) {
            try HTTPProbe.get(host: url.host ?? "127.0.0.1", port: url.port ?? 80, path: url.path)
        }

        /// Runs `stack.sh <command>` and waits with waitpid: Foundation's Process watches a descriptor
        /// that the PostgreSQL daemon inherits, so it would never see `pg-start` finish.
        private func runScript(_ script: String, _ command: String) async throws {
            var pid: pid_t = 0
            let arguments = ["/bin/bash", script, command]
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ)
            #expect(spawned == 0, "could not run stack.sh \(command)")
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == 0, "stack.sh \(command) failed")
        }
    }
}

/// Enough JSON decoding to read a field of a response in a test.
struct AnyCodable: Decodable {
    let text: String?

    init(from decoder: any Decoder) throws {
        text = try? decoder.singleValueContainer().decode(String.self)
    }
}
