import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime

/// Opens needs for the service needs district systems publish on `district.inbound`, through the
/// same intake as the API (validation, the district's scope). A need seen before (same event, or the
/// same need id) opens nothing; a refused one goes to the dead-letter topic with the reason. Offers
/// follow from the dispatcher's next round.
public struct NeedIngress: InboxHandler {
    let store: NeedStore
    let clock: @Sendable () -> Date

    public init(timeZone: TimeZone, clock: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.store = NeedStore(logger: logger, calendar: calendar)
        self.clock = clock
    }

    public func disposition(for type: EventType) -> EventDisposition {
        if type == DistrictInbound.serviceNeedReported { return .apply }
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
                let record = try event.decodeRecord(DistrictServiceNeed.self)
                let actor = Principal(subject: "district:\(district)", role: .districtIntegrator, scope: Scope(level: .district, id: district))
                _ = try await store.report(NeedIntake(record), actor: actor, sourceEventID: event.event.id, now: clock(), on: connection)
            } catch let rejection as EventRejection {
                rejections.append(rejection)
            } catch let error as VolunteerError {
                rejections.append(EventRejection(eventID: event.event.id, reason: error.deadLetterReason))
            }
        }
        for rejection in rejections {
            logger.warning("district service need rejected", metadata: ["event.id": "\(rejection.eventID)", "reason": "\(rejection.reason)"])
        }
        if !rejections.isEmpty { throw EventRejections(rejections: rejections) }
    }
}
