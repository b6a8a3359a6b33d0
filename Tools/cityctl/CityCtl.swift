import ArgumentParser
import CityControl
import Contracts
import Foundation
import Kafka
import Logging

/// The operator's and district integrator's command line: see `docs/cityctl.md`.
@main
struct CityCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cityctl",
        abstract: "Operate the city's community-governance suite and publish district events.",
        discussion: """
            Kafka: KAFKA_BOOTSTRAP_SERVERS (or --brokers) and any other KAFKA_* setting (SASL credentials).
            Services: REGISTRY_URL, MEDIATION_URL, VOLUNTEER_MATCHING_URL, BIDDING_URL (default 127.0.0.1:8081-8084).
            API token: CITY_TOKEN, or one minted from AUTH_JWT_SECRET.
            Exit status: 0 done, 1 not healthy, 65 bad input (nothing published), 69 a broker or service unreachable.
            """,
        subcommands: [Publish.self, Simulate.self, Status.self, DeadLetters.self, Show.self])
}

/// What every command needs from its environment.
struct Connection: ParsableArguments {
    @Option(name: .long, help: "Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS).")
    var brokers: String?

    @Flag(name: .long, help: "Log the Kafka client's messages.")
    var verbose = false

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func kafka() throws -> KafkaConfig {
        var variables = environment.filter { $0.key.hasPrefix(KafkaConfig.environmentPrefix) && $0.key != "KAFKA_CREATE_TOPICS_ON_START" }
        if let brokers { variables["KAFKA_BOOTSTRAP_SERVERS"] = brokers }
        do {
            return try KafkaConfig.fromEnvironment(variables)
        } catch {
            throw Stop(code: 69, message: "\(error.variable) \(error.problem) (or pass --brokers)")
        }
    }

    var logger: Logger {
        var logger = Logger(label: "cityctl") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .error
        return logger
    }

    func endpoints() throws -> ServiceEndpoints {
        do { return try ServiceEndpoints(environment: environment) } catch { throw Stop(code: 64, message: error.description) }
    }

    func api() async throws -> CityAPI {
        CityAPI(token: try await CityAPI.operatorToken(environment: environment))
    }

    /// A producer for the command's lifetime, flushed and closed when `body` returns.
    func withProducer<T>(_ body: (KafkaProducer) async throws -> T) async throws -> T {
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(config: try kafka(), logger: logger)
            try await producer.checkConnection(timeout: .seconds(10))
        } catch let error as KafkaError {
            throw Stop(code: 69, message: "\(error)")
        }
        do {
            let result = try await body(producer)
            await producer.shutdown()
            return result
        } catch {
            await producer.shutdown()
            throw error
        }
    }
}

/// Ends the command with a message on standard error and an exit status.
struct Stop: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning a `Stop` into its message and exit status.
    func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let stop as Stop {
            FileHandle.standardError.write(Data("cityctl: \(stop.message)\n".utf8))
            throw ExitCode(stop.code)
        }
    }
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
