import CityControl
import Contracts
import DrillKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import Testing

/// Applies probes, but fails as if the database were away whenever a batch holds the probe with
/// `stuckSeq`: the consumer cannot tell that from an outage and waits on it.
struct StuckProbeHandler: InboxHandler {
    let stuckSeq: Int

    func disposition(for type: EventType) -> EventDisposition { ProbeHandler().disposition(for: type) }

    func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        if try events.contains(where: { try $0.decode(ProbeRecorded.self).seq == stuckSeq }) {
            throw CancellationError()
        }
        try await ProbeHandler().apply(events, on: connection, logger: logger)
    }
}

extension IntegrationSuite {
    @Suite struct ConsumerStalls {
        /// A record that fails as a passing fault would: readiness, metrics and `cityctl status` show the
        /// partition stalled at that record's offset; an operator parks it through the API; the record is
        /// dead-lettered as `parked` with who and why, the partition moves and readiness is green again.
        @Test func aStalledPartitionIsVisibleUntilAnOperatorParksItsRecord() async throws {
            MetricsSetup.bootstrap()
            let schema = Stack.uniqueName("stall")
            let topic = try await Stack.topic("stall", partitions: 1)
            let handler = StuckProbeHandler(stuckSeq: 4)
            let descriptor = ServiceDescriptor(
                name: "drill", schema: schema, migrations: [], consumers: [ConsumerDescriptor(topics: [topic], groupSuffix: "-probe") { _ in handler }],
                openAPI: "{}")
            try await Stack.withDatabase(schema: schema, migrations: RuntimeSchema.migrations + Probe.migrations) { database in
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                for seq in 1...6 {
                    let event = try CloudEvent(source: "/drill", subject: "k", time: Date(), payload: ProbeRecorded(key: "k", seq: seq))
                    _ = try await producer.send(OutgoingMessage(event: event, topic: topic, key: "k"))
                }
                let group = "drill-probe"
                let health = ConsumerHealth(stallAfter: .seconds(2))
                var settings = InboxConsumer.Configuration()
                settings.maximumBackoff = .milliseconds(300)
                settings.parkedRefresh = .milliseconds(500)
                let inbox = InboxConsumer(
                    database: database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [topic], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger), handler: handler,
                    configuration: settings, health: health, logger: logger)

                var environment = Stack.environment
                environment["AUTH_JWT_SECRET"] = String(repeating: "s", count: 40)
                environment["POSTGRES_SCHEMA"] = schema
                let configuration = try RuntimeConfiguration.load(service: "drill", schema: schema, environment: environment)
                let authority = await TokenAuthority(secret: configuration.jwtSecret)
                let dependencies = ServiceDependencies(configuration: configuration, database: database, producer: producer, authority: authority, logger: logger)
                let router = ServiceHost.router(for: descriptor, dependencies: dependencies, consumers: health, readiness: [])
                @Sendable func token(_ role: Role, _ scope: Scope = .city) async throws -> String {
                    try await authority.issue(AccessClaims(subject: "op-7", role: role, scope: scope, expires: Date().addingTimeInterval(600), name: "Night operator"))
                }

                try await Application(router: router, logger: logger).test(.router) { client in
                    func get(_ path: String) async throws -> (HTTPResponse.Status, String) {
                        try await client.execute(uri: path, method: .get) { ($0.status, String(buffer: $0.body)) }
                    }
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        tasks.addTask { try await inbox.run() }
                        try await Stack.eventually(timeout: .seconds(40), "the partition reported stalled") { !health.stalled().isEmpty }
                        // Probing applied what precedes the stuck record; the stall names its offset.
                        try await Stack.eventually(timeout: .seconds(20), "the stall narrowed to the stuck record") {
                            health.stalled().first?.offset == 3
                        }
                        let stalled = try #require(health.stalled().first)
                        #expect(stalled.group == group && stalled.topic == topic && stalled.partition == 0)
                        #expect(stalled.kind == "transient")
                        #expect(try await Stack.sequencesByKey(database) == ["k": [1, 2, 3]], "what precedes the stuck record applies")

                        let (status, body) = try await get("/health/ready")
                        #expect(status == .ok, "degraded, not down: the HTTP side works")
                        let report = try JSONDecoder().decode(ReadinessReport.self, from: Data(body.utf8))
                        #expect(report.status == "degraded")
                        #expect(report.checks["consumers"] == "degraded")
                        #expect(report.stalled?.first?.offset == 3)

                        let (_, metrics) = try await get("/metrics")
                        let samples = MetricSample.parse(metrics)
                        let stalledSeconds = samples.first { $0.name == "consumer_stalled_seconds" && $0.labels["group"] == group }
                        #expect((stalledSeconds?.value ?? 0) >= 1, "consumer_stalled_seconds counts from the first failure")
                        #expect(samples.contains { $0.name == "consumer_batch_failures_total" && $0.labels["group"] == group && $0.labels["kind"] == "transient" })
                        #expect(samples.contains { $0.name == "consumer_lag_records" && $0.labels["group"] == group && $0.value >= 3 }, "held records count as lag")
                        #expect(samples.contains { $0.name == "service_dependency_up" && $0.labels["dependency"] == "consumers" && $0.value == 0 })

                        // What `cityctl status` makes of this service: not healthy (exit 1), the partition listed.
                        var shown = ServiceStatus(name: "drill", readiness: report.status, checks: report.checks, metrics: samples)
                        if case .array(let items)? = try JSONValue.parse(Data(body.utf8))["stalled"] { shown.stalled = items }
                        #expect(!shown.healthy)
                        let table = ServiceStatus.table([shown])
                        #expect(table.contains("STALLED PARTITIONS") && table.contains("\(topic)/0/3"), "\(table)")

                        // Only a city-wide city admin parks, with a reason, on a topic the service reads.
                        let park: [String: Any] = ["topic": topic, "partition": 0, "offset": 3, "reason": "hangs the import; district asked to resend"]
                        func post(_ body: [String: Any], _ token: String) async throws -> HTTPResponse.Status {
                            let buffer = ByteBuffer(data: try JSONSerialization.data(withJSONObject: body))
                            return try await client.execute(
                                uri: "/api/v1/operations/parked-records", method: .post,
                                headers: [.authorization: "Bearer \(token)", .contentType: "application/json"], body: buffer) { $0.status }
                        }
                        #expect(try await post(park, try await token(.districtOperator, Scope(level: .district, id: "D1"))) == .forbidden)
                        #expect(try await post(park, try await token(.cityAdmin, Scope(level: .district, id: "D1"))) == .forbidden)
                        #expect(try await post(park.merging(["topic": "registry.events"]) { $1 }, try await token(.cityAdmin)) == .badRequest)
                        #expect(try await post(park.merging(["reason": "  "]) { $1 }, try await token(.cityAdmin)) == .badRequest)
                        #expect(try await post(park, try await token(.cityAdmin)) == .created)

                        try await Stack.eventually(timeout: .seconds(30), "the partition moved past the parked record") {
                            inbox.statistics.consumed >= 6
                        }
                        #expect(try await Stack.sequencesByKey(database) == ["k": [1, 2, 3, 5, 6]])
                        #expect(health.stalled().isEmpty)
                        let (_, after) = try await get("/health/ready")
                        #expect(try JSONDecoder().decode(ReadinessReport.self, from: Data(after.utf8)).status == "ready")
                        tasks.cancelAll()
                    }
                    let listed = try await client.execute(
                        uri: "/api/v1/operations/parked-records", method: .get, headers: [.authorization: "Bearer \(try await token(.auditor))"]
                    ) { String(buffer: $0.body) }
                    #expect(listed.contains("Night operator") && listed.contains("deadLetteredAt"), "\(listed)")
                }

                let reader = try KafkaConsumer(config: try Stack.kafka(), groupID: Stack.uniqueName("dlq"), topics: [Topic.deadLetter(of: topic)], logger: logger)
                var letters: [ConsumedMessage] = []
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(30))
                while letters.isEmpty && clock.now < deadline {
                    letters += try await reader.poll(maxMessages: 10, timeout: .milliseconds(500))
                }
                await reader.close()
                await producer.shutdown()
                #expect(letters.count == 1)
                #expect(letters.first?.headers.string(DeadLetterHeader.kind) == "parked")
                #expect(letters.first?.headers.string(DeadLetterHeader.reason) == "parked by Night operator: hangs the import; district asked to resend")
                #expect(letters.first?.headers.string(DeadLetterHeader.offset) == "3")
            }
        }
    }
}
