import BiddingCore
import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage

/// Why the bidding service refused a request; nothing was written.
public enum BiddingError: Error, ProblemConvertible, CustomStringConvertible, Sendable {
    case invalid([FieldIssue])
    case notFound(what: String, id: UUID)
    case unknownPlace(String)
    case outOfScope(scope: String, place: String)
    case illegal(IllegalTenderTransition)
    /// The request does not fit where things stand (a sealed bid read, a payment not yet due, ...).
    case conflict(String)
    case ineligible(organisation: UUID, reason: String)
    case scoresMissing([MissingScore])
    case panelShortfall(PanelShortfall)

    public var description: String {
        switch self {
        case .invalid(let issues): issues.map(\.description).joined(separator: "; ")
        case .notFound(let what, let id): "no \(what) \(id.uuidString.lowercased())"
        case .unknownPlace(let code): "place \(code) is not known (the registry has not published it)"
        case .outOfScope(let scope, let place): "\(place) is outside \(scope)"
        case .illegal(let transition): transition.description
        case .conflict(let reason): reason
        case .ineligible(let organisation, let reason): "organisation \(organisation.uuidString.lowercased()) may not bid: \(reason)"
        case .scoresMissing(let missing):
            "\(missing.count) score\(missing.count == 1 ? " is" : "s are") missing: " + missing.prefix(10).map(\.description).joined(separator: "; ")
        case .panelShortfall(let shortfall): shortfall.description
        }
    }

    public var problem: ProblemDetails {
        switch self {
        case .invalid(let issues):
            .badRequest(
                "The request breaks \(issues.count) rule\(issues.count == 1 ? "" : "s"); see errors.",
                errors: issues.map { .init(field: $0.field, problem: $0.problem) })
        case .notFound: .notFound("There is \(description), or it is outside your scope.")
        case .unknownPlace: .unknownReference(description.prefix(1).uppercased() + description.dropFirst() + ".", errors: [.init(field: "placeCode", problem: "unknown")])
        case .outOfScope: .forbidden("Not allowed: \(description).")
        case .illegal(let transition):
            ProblemDetails(type: ProblemDetails.typeBase + "illegal-transition", title: "Not possible in this state", status: .conflict, detail: transition.description + ".")
        case .conflict(let reason): .conflict(reason.prefix(1).uppercased() + reason.dropFirst() + ".")
        case .ineligible:
            ProblemDetails(type: ProblemDetails.typeBase + "ineligible-bidder", title: "Not an eligible bidder", status: .forbidden, detail: description + ".")
        case .scoresMissing(let missing):
            .conflict(description + ".", errors: missing.map { .init(field: "scores", problem: $0.description) })
        case .panelShortfall: .conflict(description.prefix(1).uppercased() + description.dropFirst() + ".")
        }
    }
}

/// Who may do what in purchased services.
enum BiddingAccess {
    /// The purchaser's staff: the street office, the district or the city.
    static let purchasers: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator]
    /// Who decides complaints: above the purchaser.
    static let complaintDeciders: Set<Role> = [.cityAdmin, .districtOperator]

    /// The organisation a bidder's token speaks for (`organisation:<id>` scope).
    static func organisation(of principal: Principal) throws -> UUID {
        guard principal.role == .organisation, principal.scope.level == .organisation, let text = principal.scope.id, let id = UUID(uuidString: text) else {
            throw ProblemDetails.forbidden("Only an organisation's token (role organisation, scope organisation:<id>) may do this.")
        }
        return id
    }
}

/// A tender with its project's place and ceiling, as stored.
struct TenderRecord: Sendable {
    var id: UUID
    var projectId: UUID
    var title: String
    var state: TenderState
    var suspendedAt: Date?
    var deadlineAt: Date
    var publishedAt: Date?
    var closedAt: Date?
    var weights: ScoreWeights
    var panelFields: [String]
    var panelSize: Int
    var purchaserOrganisationId: UUID?
    var thirdPartyOrganisationId: UUID?
    var sealingKey: String?
    var awardedBidId: UUID?
    var awardedOrganisationId: UUID?
    var awardedFen: Int?
    var serviceKind: String
    var placeCode: String
    var location: PlaceLocation
    var ceilingFen: Int
    var updatedAt: Date

    static let columns = """
        t.id, t.project_id, t.title, t.status, t.suspended_from, t.suspended_at, t.deadline_at, t.published_at, t.closed_at, t.weights::text AS weights,
        t.panel_fields, t.panel_size, t.purchaser_organisation_id, t.third_party_organisation_id, t.sealing_key, t.awarded_bid_id,
        t.awarded_organisation_id, t.awarded_fen, t.updated_at, p.service_kind, p.place_code, p.district_code, p.street_code, p.community_code, p.ceiling_fen
        """
    static let from = "tender t JOIN project p ON p.id = t.project_id"

    init(row: PostgresRandomAccessRow) throws {
        id = try row["id"].decode(UUID.self)
        projectId = try row["project_id"].decode(UUID.self)
        title = try row["title"].decode(String.self)
        state = TenderState(
            status: TenderStatus(rawValue: try row["status"].decode(String.self)) ?? .draft,
            suspendedFrom: try row["suspended_from"].decode(String?.self).flatMap(TenderStatus.init(rawValue:)))
        suspendedAt = try row["suspended_at"].decode(Date?.self)
        deadlineAt = try row["deadline_at"].decode(Date.self)
        publishedAt = try row["published_at"].decode(Date?.self)
        closedAt = try row["closed_at"].decode(Date?.self)
        weights = try JSONDecoder().decode(ScoreWeights.self, from: Data(try row["weights"].decode(String.self).utf8))
        panelFields = try row["panel_fields"].decode([String].self)
        panelSize = try row["panel_size"].decode(Int.self)
        purchaserOrganisationId = try row["purchaser_organisation_id"].decode(UUID?.self)
        thirdPartyOrganisationId = try row["third_party_organisation_id"].decode(UUID?.self)
        sealingKey = try row["sealing_key"].decode(String?.self)
        awardedBidId = try row["awarded_bid_id"].decode(UUID?.self)
        awardedOrganisationId = try row["awarded_organisation_id"].decode(UUID?.self)
        awardedFen = try row["awarded_fen"].decode(Int?.self)
        updatedAt = try row["updated_at"].decode(Date.self)
        serviceKind = try row["service_kind"].decode(String.self)
        placeCode = try row["place_code"].decode(String.self)
        location = PlaceLocation(
            district: try row["district_code"].decode(String.self), street: try row["street_code"].decode(String?.self),
            community: try row["community_code"].decode(String?.self))
        ceilingFen = try row["ceiling_fen"].decode(Int.self)
    }

    var status: TenderStatus { state.status }
    var path: PlacePath { PlacePath(district: location.district, street: location.street, community: location.community) }

    var snapshot: TenderSnapshot {
        TenderSnapshot(
            id: id, projectId: projectId, title: title, status: status.rawValue, serviceKind: serviceKind, placeCode: placeCode, location: location,
            ceilingFen: ceilingFen, biddingDeadline: deadlineAt, publishedAt: publishedAt, awardedOrganisationId: awardedOrganisationId,
            awardedFen: awardedFen)
    }

    /// Drafts are the purchaser's; everything published is public.
    func visible(to principal: Principal) -> Bool {
        if status == .draft { return BiddingAccess.purchasers.contains(principal.role) && principal.scope.covers(path) || principal.role == .auditor }
        return true
    }

    /// Throws unless the caller is the purchaser's staff with this tender in scope.
    func requirePurchaser(_ principal: Principal, action: String, roles: Set<Role> = BiddingAccess.purchasers) throws {
        try principal.requireRole(roles, action: action)
        guard principal.scope.covers(path) else { throw BiddingError.notFound(what: "tender", id: id) }
    }
}

/// Appends a bidding event to the outbox, keyed by the tender.
enum BiddingEvents {
    static func append<Payload: Encodable>(
        _ type: EventType, tender: UUID, _ payload: Payload, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let subject = tender.uuidString.lowercased()
        let event = CloudEvent(source: "/bidding", type: type, subject: subject, time: now, data: try EventCoding.encode(payload))
        try await Outbox.append([OutboxEntry(topic: Topic.biddingEvents.name, key: subject, event: event)], on: connection, logger: logger)
    }
}

extension PostgresConnection {
    /// Whether a query returns at least one row.
    func exists(_ query: PostgresQuery, logger: Logger) async throws -> Bool {
        for try await _ in try await self.query(query, logger: logger) { return true }
        return false
    }
}
