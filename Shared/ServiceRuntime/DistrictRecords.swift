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

extension Reported {
    /// Of reports written together, whether each is the first with its id and with its source event;
    /// a later one is the same report again and writes nothing.
    public static func firsts(ids: [UUID], sources: [UUID?]) -> [Bool] {
        var seenIDs: Set<UUID> = [], seenSources: Set<UUID> = []
        return zip(ids, sources).map { id, source in seenIDs.insert(id).inserted && (source.map { seenSources.insert($0).inserted } ?? true) }
    }

    /// Each report's answer: its refusal, or what was written for it. `written` holds one entry per
    /// report that was planned, in order, `nil` where nothing was written because the report was
    /// recorded before; that one is answered with a conflict saying `recordedBefore`.
    public static func answers<Planned, Refusal: Error, Written>(
        _ planned: [Result<Planned, Refusal>], written: [Written?], recordedBefore: String
    ) -> [Result<Written, any Error>] {
        var written = written.makeIterator()
        return planned.map { plan in
            switch plan {
            case .failure(let refusal): .failure(refusal)
            case .success: (written.next() ?? nil).map { .success($0) } ?? .failure(ProblemDetails.conflict(recordedBefore))
            }
        }
    }
}
