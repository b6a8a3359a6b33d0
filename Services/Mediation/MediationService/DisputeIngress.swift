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
        var rejections: [EventRejection] = []
        for event in events {
            do {
                guard let district = DistrictInbound.district(fromSource: event.event.source) else {
                    throw EventRejection(
                        eventID: event.event.id, reason: DeadLetterReason(kind: "out_of_scope", detail: "source '\(event.event.source)' is not a district's"))
                }
                let record = try event.decodeRecord(DistrictDispute.self)
                let intake = CaseIntake(
                    id: record.id, grid: record.grid, category: record.category, severity: record.severity, channel: "district-system",
                    description: record.description, specialNeeds: record.specialNeeds,
                    parties: record.parties.map { CaseParty(residentId: $0.residentId, organisationId: $0.organisationId, name: $0.name, contact: $0.contact) },
                    alreadyBefore: record.alreadyBefore)
                let actor = Principal(subject: "district:\(district)", role: .districtIntegrator, scope: Scope(level: .district, id: district))
                _ = try await store.report(intake, actor: actor, sourceEventID: event.event.id, now: clock(), on: connection)
            } catch let rejection as EventRejection {
                rejections.append(rejection)
            } catch let error as MediationError {
                rejections.append(EventRejection(eventID: event.event.id, reason: error.deadLetterReason))
            }
        }
        for rejection in rejections {
            logger.warning("district dispute rejected", metadata: ["event.id": "\(rejection.eventID)", "reason": "\(rejection.reason)"])
        }
        if !rejections.isEmpty { throw EventRejections(rejections: rejections) }
    }
}
