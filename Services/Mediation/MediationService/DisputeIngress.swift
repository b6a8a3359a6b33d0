import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime

/// Opens cases for the disputes district systems publish on `district.inbound`, through the same
/// intake as the API (validation, the district's scope, court/police refusal, routing). A report seen
/// before (same event, or same case id) opens nothing; a refused one goes to the dead-letter topic.
public struct DisputeIngress: InboxHandler {
    let store: CaseStore
    let clock: @Sendable () -> Date

    public init(timeZone: TimeZone, clock: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        self.store = CaseStore(logger: logger, timeZone: timeZone)
        self.clock = clock
    }

    public func disposition(for type: EventType) -> EventDisposition {
        if type == DistrictInbound.disputeReported { return .apply }
        return DistrictInbound.allTypes.contains(type) ? .ignore : .unknown
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        try await DistrictRecords.open(events, logger: logger, what: "dispute", refusal: { ($0 as? MediationError)?.deadLetterReason }) { event, actor in
            let record = try event.decodeRecord(DistrictDispute.self)
            let intake = CaseIntake(
                id: record.id, grid: record.grid, category: record.category, severity: record.severity, channel: "district-system",
                description: record.description, specialNeeds: record.specialNeeds,
                parties: record.parties.map { CaseParty(residentId: $0.residentId, organisationId: $0.organisationId, name: $0.name, contact: $0.contact) },
                alreadyBefore: record.alreadyBefore)
            _ = try await store.report(intake, actor: actor, sourceEventID: event.event.id, now: clock(), on: connection)
        }
    }
}
