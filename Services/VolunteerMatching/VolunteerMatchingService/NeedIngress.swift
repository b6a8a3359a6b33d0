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
        try await DistrictRecords.open(events, logger: logger, what: "service need", refusal: { ($0 as? VolunteerError)?.deadLetterReason }) { event, actor in
            let record = try event.decodeRecord(DistrictServiceNeed.self)
            _ = try await store.report(NeedIntake(record), actor: actor, sourceEventID: event.event.id, now: clock(), on: connection)
        }
    }
}
