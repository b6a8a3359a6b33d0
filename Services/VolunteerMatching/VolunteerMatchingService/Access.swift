import Foundation
import ServiceRuntime

/// Who may do what. Staff act within their token's scope; a volunteer's token (`role: volunteer`,
/// `sub`: their volunteer role id from the registry) reaches only their own offers, assignments,
/// service records and pause. Anything outside is answered as not found, so ids cannot be probed.
enum Access {
    static let reporters: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .gridWorker, .districtIntegrator]
    static let staff: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .gridWorker]
    /// Who verifies hours: a community worker (or above), possibly on the recipient's behalf.
    static let verifiers: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker]
    static let readers: Set<Role> = staff.union([.auditor, .districtIntegrator])

    /// The volunteer a token speaks for, when it is a volunteer's.
    static func volunteer(_ principal: Principal) -> UUID? {
        principal.role == .volunteer ? UUID(uuidString: principal.subject) : nil
    }

    static func requireVolunteerOrStaff(_ principal: Principal, volunteer: UUID, place: PlacePath, kind: String, id: UUID) throws(VolunteerError) {
        if principal.role == .volunteer {
            guard Self.volunteer(principal) == volunteer else { throw .notFound(kind, id) }
            return
        }
        guard staff.contains(principal.role), principal.scope.covers(place) else { throw .notFound(kind, id) }
    }
}
