import Contracts
import Foundation
import Logging
import Messaging

/// Records district systems publish for a service to open (a dispute, a service need), each under the
/// district's own principal, so the API's validation and scope rules apply unchanged. The refused ones
/// are named together: the inbox dead-letters exactly those and applies the rest.
public enum DistrictRecords {
    public static func open(
        _ events: [InboundEvent], logger: Logger, what: String, refusal: (any Error) -> DeadLetterReason?,
        _ open: (InboundEvent, Principal) async throws -> Void
    ) async throws {
        var rejections: [EventRejection] = []
        for event in events {
            do {
                guard let district = DistrictInbound.district(fromSource: event.event.source) else {
                    throw EventRejection(
                        eventID: event.event.id, reason: DeadLetterReason(kind: "out_of_scope", detail: "source '\(event.event.source)' is not a district's"))
                }
                try await open(event, Principal(subject: "district:\(district)", role: .districtIntegrator, scope: Scope(level: .district, id: district)))
            } catch let rejection as EventRejection {
                rejections.append(rejection)
            } catch {
                guard let reason = refusal(error) else { throw error }
                rejections.append(EventRejection(eventID: event.event.id, reason: reason))
            }
        }
        for rejection in rejections {
            logger.warning("district \(what) rejected", metadata: ["event.id": "\(rejection.eventID)", "reason": "\(rejection.reason)"])
        }
        if !rejections.isEmpty { throw EventRejections(rejections: rejections) }
    }
}

/// Something reported to a service (a dispute, a service need) by a caller: a person through the API,
/// or a district system, whose event's id (`sourceEventID`) then makes a redelivery write nothing.
public struct Reported<Intake: Sendable>: Sendable {
    public var intake: Intake
    public var actor: Principal
    public var sourceEventID: UUID?

    public init(intake: Intake, actor: Principal, sourceEventID: UUID? = nil) {
        self.intake = intake
        self.actor = actor
        self.sourceEventID = sourceEventID
    }
}
