import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceRuntime
import Storage

/// A meeting on a case: evaluation (评议会), coordination (协调会) or hearing (听证会), with the parties
/// and residents' representatives; minutes are recorded when it has been held.
struct Meeting: Codable, Sendable {
    struct Participant: Codable, Sendable, Hashable {
        var name: String
        /// party, representative, mediator, expert, official, ...
        var role: String
    }

    var id: UUID
    var kind: String
    var scheduledAt: Date
    var place: String
    var participants: [Participant]
    var minutes: String?
    var heldAt: Date?
}

struct MeetingStore: Sendable {
    let logger: Logger
    static let kinds = ["evaluation", "coordination", "hearing"]

    func schedule(
        caseID: UUID, kind: String, at: Date, place: String, participants: [Meeting.Participant], by actor: String, on connection: PostgresConnection
    ) async throws -> Meeting {
        var problems: [ProblemDetails.FieldProblem] = []
        if !Self.kinds.contains(kind) { problems.append(.init(field: "kind", problem: "must be evaluation, coordination or hearing")) }
        if place.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(.init(field: "place", problem: "say where it is held")) }
        if participants.count < 2 { problems.append(.init(field: "participants", problem: "a meeting needs at least two participants")) }
        for (index, participant) in participants.enumerated() where participant.name.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(.init(field: "participants[\(index)].name", problem: "must not be empty"))
        }
        guard problems.isEmpty else { throw MediationError.invalid(problems) }
        let meeting = Meeting(id: UUID.random(), kind: kind, scheduledAt: at, place: place, participants: participants)
        let people = String(decoding: try JSONEncoder().encode(participants), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO case_meeting (id, case_id, kind, scheduled_at, place, participants, created_by)
            VALUES (\(meeting.id), \(caseID), \(kind), \(at), \(place), \(people)::jsonb, \(actor))
            """, logger: logger)
        return meeting
    }

    func recordMinutes(caseID: UUID, meetingID: UUID, minutes: String, now: Date, on connection: PostgresConnection) async throws -> Meeting {
        guard !minutes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw MediationError.invalid([.init(field: "minutes", problem: "must not be empty")])
        }
        try await connection.query(
            "UPDATE case_meeting SET minutes = \(minutes), held_at = coalesce(held_at, \(now)) WHERE id = \(meetingID) AND case_id = \(caseID)",
            logger: logger)
        guard let meeting = try await list(caseID: caseID, on: connection).first(where: { $0.id == meetingID }) else {
            throw ProblemDetails.notFound("No meeting \(meetingID.uuidString.lowercased()) on this case.")
        }
        return meeting
    }

    func list(caseID: UUID, on connection: PostgresConnection) async throws -> [Meeting] {
        var meetings: [Meeting] = []
        let rows = try await connection.query(
            "SELECT id, kind, scheduled_at, place, participants::text, minutes, held_at FROM case_meeting WHERE case_id = \(caseID) ORDER BY scheduled_at, id",
            logger: logger)
        for try await (id, kind, at, place, people, minutes, held) in rows.decode((UUID, String, Date, String, String, String?, Date?).self) {
            meetings.append(
                Meeting(
                    id: id, kind: kind, scheduledAt: at, place: place,
                    participants: try JSONDecoder().decode([Meeting.Participant].self, from: Data(people.utf8)), minutes: minutes, heldAt: held))
        }
        return meetings
    }
}
