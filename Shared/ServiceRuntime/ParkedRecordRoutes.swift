import Foundation
import Hummingbird
import Messaging

/// `/api/v1/operations/parked-records`: an operator sets a record aside by where it sits on the broker,
/// with a reason, and reads what was set aside. The consumer that meets the record dead-letters it as
/// `parked`; the row keeps who parked it, when and why.
struct ParkedRecordRoutes: Sendable {
    struct ParkRequest: Decodable, Sendable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var group: String?
        var reason: String
    }

    struct ParkedRecords: ResponseEncodable, Sendable {
        var items: [ParkedRecord]
    }

    let repository: ParkedRecordRepository
    /// The topics this service consumes, and its consumer groups.
    let topics: Set<String>
    let groups: Set<String>

    func add(to api: RouterGroup<AppContext>) {
        api.post("operations/parked-records") { request, context -> EditedResponse<ParkedRecord> in
            let principal = try context.requirePrincipal(roles: [.cityAdmin], action: "park records")
            guard principal.scope == .city else { throw ProblemDetails.forbidden("Parking a record needs a city-wide token.") }
            let park = try await request.decode(as: ParkRequest.self, context: context)
            try check(park)
            let record = try await repository.park(
                .init(topic: park.topic, partition: park.partition, offset: park.offset), group: park.group,
                reason: park.reason.trimmingCharacters(in: .whitespacesAndNewlines), by: principal.name ?? principal.subject)
            context.logger.notice(
                "record parked",
                metadata: [
                    "kafka.topic": "\(record.topic)", "kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)",
                    "parked.by": "\(record.parkedBy)", "parked.reason": "\(record.reason)",
                ])
            return EditedResponse(status: .created, response: record)
        }
        api.get("operations/parked-records") { _, context -> ParkedRecords in
            _ = try context.requirePrincipal(roles: [.cityAdmin, .auditor], action: "read parked records")
            return ParkedRecords(items: try await repository.list())
        }
    }

    private func check(_ park: ParkRequest) throws {
        var problems: [ProblemDetails.FieldProblem] = []
        if !topics.contains(park.topic) {
            problems.append(.init(field: "topic", problem: "this service consumes \(topics.sorted().joined(separator: ", "))"))
        }
        if park.partition < 0 { problems.append(.init(field: "partition", problem: "must be 0 or more")) }
        if park.offset < 0 { problems.append(.init(field: "offset", problem: "must be 0 or more")) }
        if let group = park.group, !groups.contains(group) {
            problems.append(.init(field: "group", problem: "this service's consumer groups are \(groups.sorted().joined(separator: ", "))"))
        }
        let reason = park.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty || reason.count > 1000 {
            problems.append(.init(field: "reason", problem: "say why, in 1 to 1,000 characters"))
        }
        guard problems.isEmpty else { throw ProblemDetails.badRequest("The record cannot be parked.", errors: problems) }
    }
}

extension ParkedRecord: ResponseEncodable {}
