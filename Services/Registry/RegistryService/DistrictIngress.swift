import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import RegistryCore
import ServiceRuntime

/// Takes district systems' records from `district.inbound` into the registry.
///
/// Each record is validated, checked against the district that sent it (its `source`: a district may
/// write only inside itself), and applied through the same stores as the API, so the same registry
/// events follow. Consecutive records of one type from one district are written together (one
/// statement per kind of change for the run), which is what makes a whole-district import fast.
/// Records that cannot be applied are rejected to the dead-letter topic with the reason; the rest of
/// the batch applies. Redelivered events are dropped by the inbox before they reach here.
public struct DistrictIngress: InboxHandler {
    let digest: NationalIDDigest
    let clock: @Sendable () -> Date

    public init(digest: NationalIDDigest, clock: @escaping @Sendable () -> Date = Date.init) {
        self.digest = digest
        self.clock = clock
    }

    public func disposition(for type: EventType) -> EventDisposition {
        if DistrictInbound.registryTypes.contains(type) { return .apply }
        if DistrictInbound.allTypes.contains(type) { return .ignore }
        return .unknown
    }

    /// Households and residents are decoded and checked ahead, while the previous batch is written:
    /// in a bulk import that is most of the CPU the registry spends on a record.
    public func prepare(_ events: [InboundEvent]) -> [InboundEvent] {
        let now = clock()
        return events.map { event in
            var event = event
            switch event.event.type {
            case DistrictInbound.householdRegistered, DistrictInbound.householdUpdated:
                event.prepared = Checked(Self.check(event) { try HouseholdFacts(try event.decodeRecord(DistrictHousehold.self)) })
            case DistrictInbound.residentRegistered, DistrictInbound.residentUpdated:
                event.prepared = Checked(Self.check(event) { try ResidentFacts(try event.decodeRecord(DistrictResident.self), today: now) })
            default: break
            }
            return event
        }
    }

    /// A record decoded and validated by `prepare`, or why not.
    struct Checked<Facts: Sendable>: Sendable {
        var result: Result<Facts, EventRejection>
        init(_ result: Result<Facts, EventRejection>) { self.result = result }
    }

    private static func check<Facts>(_ event: InboundEvent, _ make: () throws -> Facts) -> Result<Facts, EventRejection> {
        do {
            return .success(try make())
        } catch let rejection as EventRejection {
            return .failure(rejection)
        } catch let invalid as InvalidRecord {
            return .failure(EventRejection(eventID: event.event.id, reason: invalid.registryError.deadLetterReason))
        } catch {
            return .failure(EventRejection(eventID: event.event.id, reason: DeadLetterReason(kind: "invalid", detail: "\(error)")))
        }
    }

    /// The prepared facts of `event`, or the same checks done now.
    private func facts<Facts: Sendable>(_ event: InboundEvent, _ make: () throws -> Facts) throws -> Facts {
        let result = (event.prepared as? Checked<Facts>)?.result ?? Self.check(event, make)
        return try result.get()
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        let now = clock()
        var rejections: [EventRejection] = []
        var tally: [(record: String, outcomes: [String: Int])] = []
        for run in Self.runs(events) {
            guard let district = DistrictInbound.district(fromSource: run.source) else {
                rejections += run.events.map {
                    EventRejection(
                        eventID: $0.event.id,
                        reason: DeadLetterReason(kind: "out_of_scope", detail: "source '\(run.source)' is not a district's (use /district/<code>)"))
                }
                continue
            }
            let actor = RegistryActor.district(district)
            let (refused, counts) = try await apply(run, actor: actor, now: now, on: connection, logger: logger)
            let record = run.type.family.split(separator: ".").dropFirst().first.map(String.init) ?? "unknown"
            if !refused.isEmpty {
                Counter(label: "registry_ingress_records_total", dimensions: [("record", record), ("outcome", "rejected")]).increment(by: refused.count)
            }
            rejections += refused
            tally.append((record, counts))
        }
        let subjects = Dictionary(events.map { ($0.event.id, ($0.event.subject ?? "-", $0.event.source)) }) { first, _ in first }
        for rejection in rejections {
            let (subject, source) = subjects[rejection.eventID] ?? ("-", "-")
            logger.warning(
                "district record rejected",
                metadata: [
                    "event.id": "\(rejection.eventID)", "aggregate.id": "\(subject)", "event.source": "\(source)",
                    "reason.kind": "\(rejection.reason.kind)", "reason": "\(rejection.reason.detail)",
                ])
        }
        if !rejections.isEmpty { throw EventRejections(rejections: rejections) }
        // Counted only once the batch stands: a batch retried without its rejected events is counted once.
        for (record, outcomes) in tally {
            for (outcome, count) in outcomes {
                Counter(label: "registry_ingress_records_total", dimensions: [("record", record), ("outcome", outcome)]).increment(by: count)
            }
        }
    }

    /// Applies one run; returns the rejections and how many records came to each outcome.
    private func apply(
        _ run: Run, actor: RegistryActor, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> ([EventRejection], [String: Int]) {
        let type = run.type
        let mode: WriteMode = [DistrictInbound.householdUpdated, DistrictInbound.residentUpdated, DistrictInbound.organisationUpdated].contains(type) ? .update : .upsert
        var rejections: [EventRejection] = []
        var outcomes: [String: Int] = [:]
        func count<Snapshot>(_ result: Result<WriteOutcome<Snapshot>, RegistryError>, of event: InboundEvent) -> EventRejection? {
            switch result {
            case .success(let outcome):
                outcomes[outcome.label, default: 0] += 1
                return nil
            case .failure(let error): return EventRejection(eventID: event.event.id, reason: error.deadLetterReason)
            }
        }
        switch type {
        case DistrictInbound.householdRegistered, DistrictInbound.householdUpdated:
            var accepted: [(InboundEvent, HouseholdFacts)] = []
            for event in run.events {
                rejections += try await Self.attempt(event) {
                    accepted.append((event, try facts(event) { try HouseholdFacts(try event.decodeRecord(DistrictHousehold.self)) }))
                }
            }
            for chunk in chunksWithUniqueKeys(accepted, key: \.1.id) {
                let results = try await HouseholdStore(logger: logger).write(chunk.map(\.1), mode: mode, actor: actor, now: now, on: connection)
                rejections += zip(chunk, results).compactMap { count($1, of: $0.0) }
            }
        case DistrictInbound.residentRegistered, DistrictInbound.residentUpdated:
            var accepted: [(InboundEvent, ResidentFacts)] = []
            for event in run.events {
                rejections += try await Self.attempt(event) {
                    accepted.append((event, try facts(event) { try ResidentFacts(try event.decodeRecord(DistrictResident.self), today: now) }))
                }
            }
            for chunk in chunksWithUniqueKeys(accepted, key: \.1.id) {
                let results = try await ResidentStore(logger: logger, digest: digest).write(
                    chunk.map(\.1), mode: mode, actor: actor, now: now, on: connection)
                rejections += zip(chunk, results).compactMap { count($1, of: $0.0) }
            }
        case DistrictInbound.organisationRegistered, DistrictInbound.organisationUpdated:
            for event in run.events {
                rejections += try await Self.attempt(event) {
                    let record = try event.decodeRecord(DistrictOrganisation.self)
                    let facts = try validated { () throws(InvalidRecord) in
                        try OrganisationFacts(
                            id: record.id, name: record.name, kind: record.kind, legalPerson: record.legalPerson,
                            registrationAuthority: record.registrationAuthority, registrationNumber: record.registrationNumber,
                            servesPlace: record.servesPlace)
                    }
                    let outcome = try await OrganisationStore(logger: logger).write(facts, mode: mode, actor: actor, now: now, on: connection)
                    _ = count(.success(outcome), of: event)
                }
            }
        case DistrictInbound.roleAssigned:
            for event in run.events {
                rejections += try await Self.attempt(event) {
                    let record = try event.decodeRecord(DistrictRole.self)
                    let outcome = try await RoleStore(logger: logger).assign(record, mode: .upsert, actor: actor, now: now, on: connection)
                    _ = count(.success(outcome), of: event)
                }
            }
        case DistrictInbound.roleEnded:
            for event in run.events {
                rejections += try await Self.attempt(event) {
                    let record = try event.decodeRecord(DistrictRoleEnd.self)
                    let outcome = try await RoleStore(logger: logger).end(
                        record.id, reason: record.reason, endedOn: record.endedOn, actor: actor, now: now, on: connection)
                    _ = count(.success(outcome), of: event)
                }
            }
        default:
            break
        }
        return (rejections, outcomes)
    }

    /// Runs `body` for one event: a rejection or a registry error becomes that event's rejection; any
    /// other error is transient and fails the batch.
    private static func attempt(_ event: InboundEvent, _ body: () async throws -> Void) async throws -> [EventRejection] {
        do {
            try await body()
            return []
        } catch let rejection as EventRejection {
            return [rejection]
        } catch let error as RegistryError {
            return [EventRejection(eventID: event.event.id, reason: error.deadLetterReason)]
        }
    }

    /// Consecutive events of one type from one source.
    struct Run {
        var type: EventType
        var source: String
        var events: [InboundEvent] = []
    }

    static func runs(_ events: [InboundEvent]) -> [Run] {
        var runs: [Run] = []
        for event in events {
            if let last = runs.last, last.type == event.event.type, last.source == event.event.source {
                runs[runs.count - 1].events.append(event)
            } else {
                runs.append(Run(type: event.event.type, source: event.event.source, events: [event]))
            }
        }
        return runs
    }
}

/// Splits `items` in order into chunks in which no key repeats: a record registered and then updated
/// in one batch is written twice, in that order, never as two rows of one statement.
func chunksWithUniqueKeys<Item, Key: Hashable>(_ items: [Item], key: (Item) -> Key) -> [[Item]] {
    var chunks: [[Item]] = []
    var current: [Item] = []
    var seen: Set<Key> = []
    for item in items {
        if !seen.insert(key(item)).inserted {
            chunks.append(current)
            current = []
            seen = [key(item)]
        }
        current.append(item)
    }
    if !current.isEmpty { chunks.append(current) }
    return chunks
}
