// The registry issue's measurement: a district's bulk import through `district.inbound`, end to end,
// next to a plain PostgreSQL COPY of the same rows into the same table, in the same run.
//
//   1. Setup, not timed: a fresh schema with the registry's migrations, one district (B01) with a
//      street, a community, grids and buildings; fresh `district.inbound` and dead-letter topics.
//      H `district.household.registered.v1` records and then N `district.resident.registered.v1`
//      records (one each, keyed by the district code, source /district/B01) are published before the
//      clock starts.
//   2. Timed: the registry's inbox consumer with its `DistrictIngress` handler and its outbox relay,
//      wired as `ServiceHost` wires them (producer, relay, consumer in a `ServiceGroup`), run until
//      every household and resident is in PostgreSQL and every resulting registry event is marked sent
//      (acknowledged by the broker).
//   3. Baseline, same run: a second fresh schema with the same migrations and the same households
//      (SQL, not timed), then `COPY resident (...) FROM STDIN` of the same rows through `psql`, timed.
//      Both tables are compared afterwards (a digest over every column the import writes).
//
//   registry-bench [--residents N] [--households H] [--batch B] [--relay-batch R] [--json FILE]
//       defaults: 200000, N/2, 2000 (consumer batch), 2000 (relay batch, the service's default)
//
// PostgreSQL and Kafka come from the POSTGRES_* and KAFKA_* variables (`scripts/stack.sh env`).
// BENCH_PG_PID / BENCH_BROKER_PID (set by bench/registry.sh) name the local stack's postmaster and
// broker, whose CPU time is reported beside this process's.
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import RegistryService
import ServiceLifecycle
import ServiceRuntime
import Storage

#if canImport(Glibc)
    import Glibc
#endif

@main
struct RegistryBench {
    static let district = "B01"
    static let digestKey = "bench-id-digest-key-0123456789abcdef0123"
    static let residentColumns =
        "id, household_id, name, national_id_digest, national_id_masked, birth_date, phone, residency, floating, groups, sensitive_groups, building_code, grid_code, grid_version, community_code, street_code, district_code"

    static func main() async {
        do {
            try await run()
        } catch {
            say("registry-bench failed: \(error)")
            exit(1)
        }
    }

    static func run() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }
        let residents = max(1, Int(option("residents") ?? "") ?? 200_000)
        let households = max(1, Int(option("households") ?? "") ?? max(1, residents / 2))
        let batch = max(1, Int(option("batch") ?? "") ?? 2000)
        let relayBatch = max(1, Int(option("relay-batch") ?? "") ?? 2000)
        let layout = Layout(households: households)

        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "registry-bench")
        logger.logLevel = .error
        var kafka = try KafkaConfig.fromEnvironment(environment)
        // As the other benchmarks: a quick group join on the local broker.
        kafka.properties["session.timeout.ms"] = kafka.properties["session.timeout.ms"] ?? "6000"
        kafka.properties["heartbeat.interval.ms"] = kafka.properties["heartbeat.interval.ms"] ?? "500"
        let suffix = String(UUID().uuidString.lowercased().prefix(8))
        let inboundTopic = "bench-district-inbound-\(suffix)"
        let groupID = "bench-registry-\(suffix)"
        let ingressSchema = "bench_registry_\(suffix)"
        let copySchema = "bench_registry_copy_\(suffix)"
        // The service's pool size (POSTGRES_MAX_CONNECTIONS defaults to 10).
        let ingress = Database(config: DatabaseConfig.local(environment, schema: ingressSchema, maxConnections: 10), logger: logger)
        let baseline = Database(config: DatabaseConfig.local(environment, schema: copySchema, maxConnections: 2), logger: logger)
        let digest = NationalIDDigest(secret: digestKey)
        let migrations = RegistryService.descriptor(settings: RegistrySettings(idDigestKey: digestKey)).allMigrations
        let processes = CPUProcesses(environment: environment)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await ingress.client.run() }
            group.addTask { await baseline.client.run() }
            defer { group.cancelAll() }
            do {
                try await MigrationRunner(database: ingress).apply(migrations)
                try await MigrationRunner(database: baseline).apply(migrations)
                // The registry's outbox entries name `registry.events`: make sure it (and every topic
                // of the suite) exists, as the service does with KAFKA_CREATE_TOPICS_ON_START.
                try await KafkaAdmin.ensureTopics(
                    Topic.allCases.flatMap {
                        [KafkaAdmin.TopicSpec(name: $0.name, partitions: $0.partitions), KafkaAdmin.TopicSpec(name: $0.deadLetter, partitions: 1)]
                    } + [
                        .init(name: inboundTopic, partitions: Topic.districtInbound.partitions),
                        .init(name: Topic.deadLetter(of: inboundTopic), partitions: 1),
                    ],
                    config: kafka, logger: logger)

                say("drawing district \(district): \(layout.grids) grids, \(layout.buildings) buildings (not timed)…")
                for database in [ingress, baseline] { try await drawPlaces(database, layout: layout, logger: logger) }

                say("building \(households) household and \(residents) resident records…")
                let householdRecords = (0..<households).map { h in
                    DistrictHousehold(id: UUID(), buildingCode: layout.building(ofHousehold: h), address: "\(1 + (h / layout.buildings) % 30)F-\(h)")
                }
                let residentRecords = (0..<residents).map { n in resident(n, household: householdRecords[n % households].id) }
                let mix = (
                    floating: residentRecords.filter { $0.residency == "floating" }.count,
                    grouped: residentRecords.filter { !($0.groups ?? []).isEmpty }.count,
                    sensitive: residentRecords.filter { ($0.groups ?? []).contains(PopulationGroup.communityCorrection.rawValue) }.count
                )

                say("publishing them to \(inboundTopic) (not timed)…")
                let districtSystem = try KafkaProducer(config: kafka, logger: logger)
                var messages: [OutgoingMessage] = []
                func flush() async throws {
                    for result in await districtSystem.send(batch: messages) { _ = try result.get() }
                    messages.removeAll(keepingCapacity: true)
                }
                for record in householdRecords {
                    let event = try DistrictInbound.event(
                        district: district, type: DistrictInbound.householdRegistered, subject: record.id.uuidString.lowercased(), record: record)
                    messages.append(OutgoingMessage(event: event, topic: inboundTopic, key: district))
                    if messages.count == 10_000 { try await flush() }
                }
                for record in residentRecords {
                    let event = try DistrictInbound.event(
                        district: district, type: DistrictInbound.residentRegistered, subject: record.id.uuidString.lowercased(), record: record)
                    messages.append(OutgoingMessage(event: event, topic: inboundTopic, key: district))
                    if messages.count == 10_000 { try await flush() }
                }
                try await flush()
                await districtSystem.shutdown()

                // The registry's side, as ServiceHost.serve wires it.
                let producer = try KafkaProducer(config: kafka, logger: logger)
                var relayConfiguration = OutboxRelay.Configuration()
                relayConfiguration.batchSize = relayBatch
                let relay = OutboxRelay(database: ingress, producer: producer, configuration: relayConfiguration, logger: logger)
                var inboxConfiguration = InboxConsumer.Configuration()
                inboxConfiguration.batchSize = batch
                let handler = Timed(DistrictIngress(digest: digest))
                let inbox = InboxConsumer(
                    database: ingress, consumer: try KafkaConsumer(config: kafka, groupID: groupID, topics: [inboundTopic], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: groupID, logger: logger),
                    handler: handler, configuration: inboxConfiguration, logger: logger)
                let serviceGroup = ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: [producer, relay, inbox], logger: logger))

                say("consuming, applying and relaying (timed)…")
                let marks = try await withThrowingTaskGroup(of: Void.self, returning: Marks.self) { workers in
                    var marks = Marks()
                    marks.cpu.append(processes.sample())
                    let start = ContinuousClock.now
                    workers.addTask { try await serviceGroup.run() }
                    defer { workers.cancelAll() }
                    var nextBacklogSample = start
                    while marks.published == nil {
                        try await Task.sleep(for: .milliseconds(10))
                        let now = ContinuousClock.now
                        let statistics = inbox.statistics
                        if statistics.deadLettered > 0 { throw BenchFailure.deadLettered(statistics.deadLettered) }
                        if marks.firstBatch == nil && statistics.applied > 0 {
                            marks.firstBatch = now - start
                            marks.firstBatchSize = statistics.applied
                        }
                        if marks.households == nil && statistics.applied >= households {
                            marks.households = now - start
                            marks.cpu.append(processes.sample())
                            marks.handlerAtHouseholds = handler.spent
                            say("households applied after \(String(format: "%.1f", seconds(now - start))) s")
                        }
                        if marks.written == nil && statistics.applied >= households + residents {
                            marks.written = now - start
                            marks.cpu.append(processes.sample())
                            marks.handlerAtWritten = handler.spent
                            marks.unsentAtWritten = try await count(ingress, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                            marks.maxUnsent = max(marks.maxUnsent, marks.unsentAtWritten)
                        }
                        if marks.written != nil {
                            if try await count(ingress, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0 {
                                marks.published = ContinuousClock.now - start
                                marks.cpu.append(processes.sample())
                            }
                        } else if now >= nextBacklogSample {
                            // How far the relay trails the consumer while both run.
                            marks.maxUnsent = max(marks.maxUnsent, try await count(ingress, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                            nextBacklogSample = now.advanced(by: .seconds(1))
                        }
                        if now - start > .seconds(3600) { throw BenchFailure.tooSlow(applied: statistics.applied) }
                    }
                    marks.statistics = inbox.statistics
                    await serviceGroup.triggerGracefulShutdown()
                    try await workers.waitForAll()
                    return marks
                }

                say("checking the import…")
                let stored = (
                    households: try await count(ingress, "SELECT count(*) FROM household"),
                    residents: try await count(ingress, "SELECT count(*) FROM resident"),
                    householdEvents: try await count(
                        ingress, "SELECT count(*) FROM outbox WHERE event_type = 'registry.household.registered.v1' AND sent_at IS NOT NULL"),
                    residentEvents: try await count(
                        ingress, "SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.registered.v1' AND sent_at IS NOT NULL"),
                    sent: try await count(ingress, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"),
                    audit: try await count(ingress, "SELECT count(*) FROM audit_log")
                )
                guard stored.households == households, stored.residents == residents, stored.householdEvents == households,
                    stored.residentEvents == residents, marks.statistics?.deadLettered == 0
                else { throw BenchFailure.wrongResult("\(stored), \(String(describing: marks.statistics))") }

                say("COPY of the same \(residents) rows into \(copySchema).resident…")
                try await insertHouseholds(baseline, householdRecords, layout: layout, logger: logger)
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("registry-bench-\(suffix).csv")
                defer { try? FileManager.default.removeItem(at: file) }
                try copyRows(residentRecords, households: households, layout: layout, digest: digest).write(to: file)
                let copyStart = ContinuousClock.now
                try psql(
                    "COPY resident (\(residentColumns)) FROM STDIN WITH (FORMAT csv)", schema: copySchema, stdin: file, environment: environment)
                let copySeconds = seconds(ContinuousClock.now - copyStart)
                let copied = try await count(baseline, "SELECT count(*) FROM resident")
                guard copied == residents else { throw BenchFailure.wrongResult("COPY wrote \(copied) of \(residents) rows") }
                let same = try await tableDigest(ingress, schema: ingressSchema) == tableDigest(ingress, schema: copySchema)
                guard same else { throw BenchFailure.wrongResult("the COPY rows differ from the imported ones") }

                try await dropSchemas([ingressSchema, copySchema], on: ingress, logger: logger)
                report(
                    marks: marks, residents: residents, households: households, layout: layout, batch: batch, relayBatch: relayBatch,
                    mix: mix, audit: stored.audit, copySeconds: copySeconds, json: option("json"))
            } catch {
                say("failed: \(error); dropping the bench schemas")
                try? await dropSchemas([ingressSchema, copySchema], on: ingress, logger: logger)
                throw error
            }
        }
    }

    // MARK: report

    static func report(
        marks: Marks, residents: Int, households: Int, layout: Layout, batch: Int, relayBatch: Int,
        mix: (floating: Int, grouped: Int, sensitive: Int), audit: Int, copySeconds: Double, json: String?
    ) {
        let join = seconds(marks.firstBatch!), householdsDone = seconds(marks.households!)
        let written = seconds(marks.written!), published = seconds(marks.published!)
        // The residents' phase: from the last household applied to the last resident's event on the broker.
        let residentPhase = published - householdsDone
        let endToEnd = Double(residents) / residentPhase
        let writtenRate = Double(residents) / (written - householdsDone)
        let householdRate = Double(households - min(households, marks.firstBatchSize)) / max(0.001, householdsDone - join)
        let wholeRun = Double(households + residents) / published
        let copyRate = Double(residents) / copySeconds
        // CPU during the residents' phase (households applied → all written) and the relay's tail.
        let phase = CPUSample.delta(marks.cpu[1], marks.cpu[2])
        let tail = CPUSample.delta(marks.cpu[2], marks.cpu[3])
        let phaseWall = written - householdsDone
        let inHandler = seconds(marks.handlerAtWritten - marks.handlerAtHouseholds)
        func cores(_ ticks: Int, _ wall: Double) -> String { String(format: "%.2f", Double(ticks) / CPUSample.ticksPerSecond / max(0.001, wall)) }
        func f1(_ value: Double) -> String { String(format: "%.1f", value) }
        func n(_ value: Double) -> String { grouped(Int(value.rounded())) }

        print("| measure | value |")
        print("| --- | ---: |")
        print("| households, then residents, published to `district.inbound` before the clock | \(n(Double(households))), \(n(Double(residents))) |")
        print("| consumer-group join and first batch applied | \(f1(join)) s |")
        print("| all households applied in PostgreSQL | \(f1(householdsDone)) s (\(n(householdRate)) households/s after the join) |")
        print("| all residents written in PostgreSQL (**all written**) | \(f1(written)) s |")
        print("| all registry events acknowledged by the broker and marked sent (**all published**) | \(f1(published)) s |")
        print("| unsent outbox rows when all were written / most seen before | \(n(Double(marks.unsentAtWritten))) / \(n(Double(marks.maxUnsent))) |")
        print("| residents written per second (households applied → all written) | \(n(writtenRate)) |")
        print("| **residents/s end to end** (consumed, validated, written, event published; households applied → all published) | **\(n(endToEnd))** |")
        print("| whole import incl. join and households, records/s | \(n(wholeRun)) |")
        print("| **PostgreSQL COPY of the same rows into the same table** | **\(n(copyRate)) rows/s** (\(String(format: "%.2f", copySeconds)) s) |")
        print("| **end to end / COPY** | **\(String(format: "%.1f", endToEnd / copyRate * 100)) %** (1 : \(String(format: "%.1f", copyRate / endToEnd))) |")
        print("")
        print(
            "While residents were applied, \(f1(inHandler)) s of \(f1(phaseWall)) s were spent inside DistrictIngress.apply "
                + "(records decoded and validated, the stores' reads and writes, outbox rows); the rest is the consumer around it "
                + "(poll, CloudEvent decoding, inbox rows, commit, offset commit).")
        print(
            "CPU, cores busy while residents were applied (\(f1(phaseWall)) s): this process \(cores(phase.ownTotal, phaseWall)) "
                + "(\(phase.ownGroups.map { "\($0.key) \(cores($0.value, phaseWall))" }.joined(separator: ", "))), "
                + "PostgreSQL \(cores(phase.postgres, phaseWall)), broker \(cores(phase.broker, phaseWall)), "
                + "other processes \(cores(max(0, phase.machineBusy - phase.ownTotal - phase.postgres - phase.broker), phaseWall)), "
                + "machine \(cores(phase.machineBusy, phaseWall)) of \(ProcessInfo.processInfo.activeProcessorCount).")
        let tailWall = published - written
        if tailWall > 0.05 {
            print("Relay tail (\(f1(tailWall)) s): this process \(cores(tail.ownTotal, tailWall)), PostgreSQL \(cores(tail.postgres, tailWall)), broker \(cores(tail.broker, tailWall)).")
        }
        print(
            "\(layout.buildings) buildings in \(layout.grids) grids; \(n(Double(mix.floating))) floating residents, \(n(Double(mix.grouped))) in groups, "
                + "\(n(Double(mix.sensitive))) in a sensitive group (\(audit) audit rows); consumer batch \(batch), relay batch \(relayBatch); "
                + "librdkafka \(KafkaConfig.libraryVersion); load average at the end \(loadAverage()).")
        if let json {
            let object: [String: Any] = [
                "residents": residents, "households": households, "buildings": layout.buildings, "grids": layout.grids,
                "consumer_batch": batch, "relay_batch": relayBatch,
                "floating": mix.floating, "grouped": mix.grouped, "sensitive": mix.sensitive,
                "join_s": join, "households_applied_s": householdsDone, "written_s": written, "published_s": published,
                "unsent_at_written": marks.unsentAtWritten, "handler_s_resident_phase": inHandler, "max_unsent_before_written": marks.maxUnsent,
                "households_per_s": householdRate, "residents_written_per_s": writtenRate,
                "residents_end_to_end_per_s": endToEnd, "whole_import_records_per_s": wholeRun,
                "copy_rows_per_s": copyRate, "copy_s": copySeconds, "ratio_end_to_end_to_copy": endToEnd / copyRate,
                "cpu_resident_phase_cores": [
                    "self": Double(phase.ownTotal) / CPUSample.ticksPerSecond / phaseWall,
                    "self_threads": phase.ownGroups.mapValues { Double($0) / CPUSample.ticksPerSecond / phaseWall },
                    "postgres": Double(phase.postgres) / CPUSample.ticksPerSecond / phaseWall,
                    "broker": Double(phase.broker) / CPUSample.ticksPerSecond / phaseWall,
                    "machine": Double(phase.machineBusy) / CPUSample.ticksPerSecond / phaseWall,
                ],
                "inbox": [
                    "consumed": marks.statistics?.consumed ?? 0, "applied": marks.statistics?.applied ?? 0, "batches": marks.statistics?.batches ?? 0,
                ],
                "cores": ProcessInfo.processInfo.activeProcessorCount, "librdkafka": KafkaConfig.libraryVersion,
                "load_average": loadAverage(),
            ]
            do {
                try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
            } catch {
                say("could not write \(json): \(error)")
            }
        }
    }

    // MARK: places and records

    /// One district, one street, one community; about a hundred households per building, up to 20 grids.
    struct Layout {
        var buildings: Int
        var grids: Int

        init(households: Int) {
            buildings = max(1, (households + 99) / 100)
            grids = min(20, buildings)
        }

        func building(ofHousehold h: Int) -> String { "B01-B\(h % buildings)" }
        func grid(ofBuilding b: Int) -> String { "B01-G\(b % grids)" }
    }

    static func drawPlaces(_ database: Database, layout: Layout, logger: Logger) async throws {
        try await database.transaction { connection in
            try await connection.query(
                """
                INSERT INTO place (code, level, name, parent_code, district_code, street_code, community_code, grid_code, grid_version, community_type)
                VALUES ('B01', 'district', 'Bench district', NULL, 'B01', NULL, NULL, NULL, NULL, NULL),
                       ('B01-S', 'street', 'Bench street', 'B01', 'B01', 'B01-S', NULL, NULL, NULL, NULL),
                       ('B01-C', 'community', 'Bench community', 'B01-S', 'B01', 'B01-S', 'B01-C', NULL, NULL, 'new-build')
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO place (code, level, name, parent_code, district_code, street_code, community_code, grid_code, grid_version)
                SELECT 'B01-G' || g, 'grid', 'Grid ' || g, 'B01-C', 'B01', 'B01-S', 'B01-C', 'B01-G' || g, 1
                FROM generate_series(0, \(layout.grids - 1)) AS g
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO place (code, level, name, parent_code, district_code, street_code, community_code, grid_code, grid_version, address)
                SELECT 'B01-B' || b, 'building', 'Building ' || b, 'B01-G' || (b % \(layout.grids)), 'B01', 'B01-S', 'B01-C',
                       'B01-G' || (b % \(layout.grids)), 1, b || ' Bench Road'
                FROM generate_series(0, \(layout.buildings - 1)) AS b
                """, logger: logger)
        }
    }

    /// The baseline's households: the rows the import wrote, with the same ids and paths.
    static func insertHouseholds(_ database: Database, _ records: [DistrictHousehold], layout: Layout, logger: Logger) async throws {
        let ids = records.map(\.id), addresses = records.map(\.address)
        let buildings = records.indices.map { Int32($0 % layout.buildings) }
        _ = try await database.transaction { connection in
            try await connection.query(
                """
                INSERT INTO household (id, address, building_code, grid_code, grid_version, community_code, street_code, district_code)
                SELECT h.id, h.address, 'B01-B' || h.b, 'B01-G' || (h.b % \(layout.grids)), 1, 'B01-C', 'B01-S', 'B01'
                FROM unnest(\(ids)::uuid[], \(addresses)::text[], \(buildings)::int4[]) AS h(id, address, b)
                """, logger: logger)
        }
    }

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
    static let givenNames = Array("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红")
    static let areaCodes = ["440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311", "110105"]
    static let origins = ["湖南省衡阳市", "江西省赣州市", "广西壮族自治区玉林市", "四川省达州市", "河南省周口市"]
    /// Birth dates spread over 29,000 days from 1940-01-01 (to mid-2019).
    static let birthDays = 29_000

    /// Resident `n`: a valid GB 11643 number unique to `n` (birth day, sequence and area code are a
    /// bijection of `n` below 290 million), a fifth of them floating, many in groups, one in 200 in a
    /// sensitive group, two thirds with a phone.
    static func resident(_ n: Int, household: UUID) -> DistrictResident {
        let (nationalID, year) = nationalID(n)
        let floating = n % 5 == 0
        var groups: [PopulationGroup] = []
        if year < 1961 { groups.append(.elderly) }
        if year >= 2009 { groups.append(.minor) }
        if n % 7 == 0 { groups.append(.lowIncome) }
        if n % 41 == 0 { groups.append(.disabled) }
        if n % 97 == 0 { groups.append(.unemployed) }
        if floating && n % 2 == 0 { groups.append(.migrantWorker) }
        if n % 200 == 0 { groups.append(.communityCorrection) }
        let name = String(surnames[n % surnames.count]) + String(givenNames[(n / surnames.count) % givenNames.count])
            + (n % 3 == 0 ? "" : String(givenNames[(n / 7) % givenNames.count]))
        let registration = FloatingRegistration(
            origin: origins[n % origins.count], arrivedOn: "20\(18 + n % 7)-\(pad(1 + n % 12, 2))-15",
            permitNumber: n % 2 == 0 ? "4403\(pad(n, 10))" : nil, permitExpiresOn: n % 2 == 0 ? "2027-06-30" : nil,
            purpose: ["work", "study", "family"][n % 3])
        return DistrictResident(
            id: UUID(), householdId: household, name: name, nationalId: nationalID, phone: n % 3 == 2 ? nil : "13\(pad(n % 1_000_000_000, 9))",
            residency: floating ? "floating" : "registered", floating: floating ? registration : nil,
            groups: groups.isEmpty ? nil : groups.map(\.rawValue))
    }

    /// A GB 11643-1999 number: area code, birth date, sequence, and the ISO 7064 MOD 11-2 check character.
    static func nationalID(_ n: Int) -> (String, year: Int) {
        let day = n % birthDays, rest = n / birthDays
        let (year, month, dayOfMonth) = civilDate(daysSinceEpoch: daysFromCivil(1940, 1, 1) + day)
        let body = areaCodes[(rest / 1000) % areaCodes.count] + pad(year, 4) + pad(month, 2) + pad(dayOfMonth, 2) + pad(rest % 1000, 3)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.utf8.map { Int($0) - 48 }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = Array("10X98765432")[sum % 11]
        return (body + String(check), year)
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilDate(daysSinceEpoch z: Int) -> (Int, Int, Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The rows the registry stores for `records` (validated and derived by the same registry code:
    /// digest, mask, birth date, ordinary and sensitive groups, floating registration, place path), as CSV.
    static func copyRows(_ records: [DistrictResident], households: Int, layout: Layout, digest: NationalIDDigest) throws -> Data {
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let hexDigits = Array("0123456789abcdef".utf8)
        var csv = ""
        csv.reserveCapacity(records.count * 320)
        for (n, record) in records.enumerated() {
            let facts = try ResidentFacts(record)
            let id = facts.nationalID!
            var hex: [UInt8] = Array("\\x".utf8)
            for byte in digest.digest(id) {
                hex.append(hexDigits[Int(byte >> 4)])
                hex.append(hexDigits[Int(byte & 0x0f)])
            }
            let floating = try facts.floating.map { quoted(String(decoding: try EventCoding.encode($0), as: UTF8.self)) } ?? ""
            let building = (n % households) % layout.buildings
            let fields: [String] = [
                record.id.uuidString.lowercased(), record.householdId.uuidString.lowercased(), quoted(facts.name), String(decoding: hex, as: UTF8.self),
                id.masked, id.birthDay, facts.phone.map(quoted) ?? "", facts.residency.rawValue, floating,
                quoted("{" + facts.ordinaryGroups.joined(separator: ",") + "}"), quoted("{" + facts.sensitiveGroups.joined(separator: ",") + "}"),
                "B01-B\(building)", layout.grid(ofBuilding: building), "1", "B01-C", "B01-S", "B01",
            ]
            csv += fields.joined(separator: ",")
            csv += "\n"
        }
        return Data(csv.utf8)
    }

    // MARK: PostgreSQL helpers

    /// Runs one statement through psql with `stdin` as its standard input (COPY ... FROM STDIN reads it).
    static func psql(_ statement: String, schema: String, stdin: URL, environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement]
        var env = environment
        env["PGHOST"] = environment["POSTGRES_HOST"] ?? "127.0.0.1"
        env["PGPORT"] = environment["POSTGRES_PORT"] ?? "5432"
        env["PGUSER"] = environment["POSTGRES_USER"] ?? "city"
        env["PGPASSWORD"] = environment["POSTGRES_PASSWORD"] ?? "city"
        env["PGDATABASE"] = environment["POSTGRES_DB"] ?? "city"
        env["PGOPTIONS"] = "-c search_path=\(schema)"
        process.environment = env
        process.standardInput = try FileHandle(forReadingFrom: stdin)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure.psql(process.terminationStatus) }
    }

    /// md5 over every column the import and COPY both write, row by row in id order.
    static func tableDigest(_ database: Database, schema: String) async throws -> String {
        try await database.withConnection { connection in
            let sql = """
                SELECT md5(string_agg(concat_ws('|', id, household_id, name, encode(national_id_digest, 'hex'), national_id_masked, birth_date,
                                                 phone, residency, floating::text, groups::text, sensitive_groups::text, building_code, grid_code,
                                                 grid_version, community_code, street_code, district_code), E'\\n' ORDER BY id))
                FROM \(schema).resident
                """
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "bench")).decode(String.self) {
                return value
            }
            return ""
        }
    }

    static func dropSchemas(_ schemas: [String], on database: Database, logger: Logger) async throws {
        for schema in schemas {
            _ = try await database.withConnection {
                try await $0.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
            }
        }
    }

    static func count(_ database: Database, _ sql: String) async throws -> Int {
        try await database.withConnection { connection in
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "bench")).decode(Int64.self) {
                return Int(value)
            }
            return 0
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// 200000 → "200,000".
    static func grouped(_ value: Int) -> String {
        var digits = String(abs(value)), out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return (value < 0 ? "-" : "") + digits + out
    }

    static func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).joined(separator: " ")
    }

    enum BenchFailure: Error {
        case tooSlow(applied: Int)
        case deadLettered(Int)
        case wrongResult(String)
        case psql(Int32)
    }
}

/// When each stage finished, from the start of the timed part.
struct Marks {
    var firstBatch: Duration?
    var firstBatchSize = 0
    var households: Duration?
    var written: Duration?
    var published: Duration?
    /// Time spent inside `DistrictIngress.apply` so far, when all households and all residents were applied.
    var handlerAtHouseholds: Duration = .zero
    var handlerAtWritten: Duration = .zero
    var unsentAtWritten = 0
    var maxUnsent = 0
    var statistics: InboxStatistics?
    /// At the start, all households applied, all written, all published.
    var cpu: [CPUSample] = []
}

/// The registry's handler, unchanged, with the time spent inside its `apply` added up: what the
/// handler costs (decoding, validation, the stores' reads and writes, the outbox rows) against what the
/// consumer around it costs (poll, CloudEvent decoding, inbox rows, commit, offsets).
final class Timed<Handler: InboxHandler>: InboxHandler, @unchecked Sendable {
    let handler: Handler
    private let lock = NSLock()
    private var total: Duration = .zero

    init(_ handler: Handler) { self.handler = handler }

    var spent: Duration { lock.withLock { total } }

    func disposition(for type: EventType) -> EventDisposition { handler.disposition(for: type) }

    func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            lock.withLock { total += elapsed }
        }
        try await handler.apply(events, on: connection, logger: logger)
    }
}

// MARK: CPU accounting from /proc

/// The processes whose CPU time is reported: this one (by thread), the stack's PostgreSQL (postmaster
/// and its children) and broker.
struct CPUProcesses: Sendable {
    var postmaster: Int?
    var broker: Int?

    init(environment: [String: String]) {
        func pid(_ variable: String, file: String?) -> Int? {
            if let value = environment[variable], let pid = Int(value) { return pid }
            guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            return Int(text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
        }
        postmaster = pid("BENCH_PG_PID", file: environment["STACK_PG_DATA"].map { $0 + "/postmaster.pid" })
        broker = pid("BENCH_BROKER_PID", file: nil)
    }

    func sample() -> CPUSample {
        var sample = CPUSample()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks {
            guard let stat = CPUSample.stat("/proc/self/task/\(task)/stat") else { continue }
            sample.own[Int(task) ?? 0] = (CPUSample.group(ofThread: stat.name), stat.ticks)
        }
        if let postmaster {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int(entry), let stat = CPUSample.stat("/proc/\(pid)/stat") else { continue }
                if pid == postmaster || stat.parent == postmaster { sample.postgres[pid] = stat.ticks }
            }
        }
        if let broker, let stat = CPUSample.stat("/proc/\(broker)/stat") { sample.broker = stat.ticks }
        if let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first {
            let values = line.split(separator: " ").dropFirst().compactMap { Int($0) }
            if values.count >= 8 {
                // user nice system idle iowait irq softirq steal
                sample.machineBusy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
            }
        }
        return sample
    }
}

struct CPUSample: Sendable {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Thread id → (group, ticks).
    var own: [Int: (String, Int)] = [:]
    var postgres: [Int: Int] = [:]
    var broker = 0
    var machineBusy = 0

    struct Delta {
        var ownGroups: [String: Int]
        var ownTotal: Int
        var postgres: Int
        var broker: Int
        var machineBusy: Int
    }

    /// Ticks spent between `a` and `b` (processes and threads started in between count from zero).
    static func delta(_ a: CPUSample, _ b: CPUSample) -> Delta {
        var groups: [String: Int] = [:]
        for (tid, (group, ticks)) in b.own { groups[group, default: 0] += ticks - (a.own[tid]?.1 ?? 0) }
        let postgres = b.postgres.reduce(0) { $0 + $1.value - (a.postgres[$1.key] ?? 0) }
        return Delta(
            ownGroups: groups, ownTotal: groups.values.reduce(0, +), postgres: postgres, broker: b.broker - a.broker,
            machineBusy: b.machineBusy - a.machineBusy)
    }

    /// Thread names on Linux: librdkafka's own threads are `rdk:*`; PostgresNIO's event loops `NIO-*`;
    /// the Swift concurrency pool runs on Dispatch's `com.apple.root.default-qos` threads (names cut
    /// to 15 characters), and the Kafka wrappers' blocking lanes (serial queues) on overcommit threads.
    static func group(ofThread name: String) -> String {
        if name.hasPrefix("rdk:") || name.contains("kafka") { return "librdkafka threads" }
        if name.hasPrefix("NIO-") { return "NIO event loops" }
        if name.hasSuffix("default-qos") { return "Swift tasks" }
        if name.hasSuffix("overcommit") { return "Kafka lanes" }
        return "other threads"
    }

    /// Name, parent pid and user+system ticks from a `stat` file.
    static func stat(_ path: String) -> (name: String, parent: Int, ticks: Int)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let name = String(text[text.index(after: open)..<close])
        // After the name: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt, utime, stime.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let parent = Int(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return (name, parent, user + system)
    }
}
