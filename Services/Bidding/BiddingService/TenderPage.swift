import BiddingCore
import Foundation
import Logging
import PostgresNIO

/// What the tender page shows from the tender's own tables: the tender and its transitions,
/// clarifications, complaints and bids.
///
/// It is read in one query, the lists as JSON arrays beside the tender's columns: the page is the
/// most read thing in bidding, and five queries meant five round trips of protocol work on both
/// sides for every view.
struct TenderPage: Sendable {
    /// The transitions as shown; `at` is when it happened.
    struct Transition: Codable, Sendable {
        var action: String
        var fromStatus: String?
        var toStatus: String
        var actor: String
        var reason: String?
        var at: Date
    }

    var record: TenderRecord
    var transitions: [Transition]
    var clarifications: [TenderStore.Clarification]
    var complaints: [TenderStore.ComplaintView]
    /// Prices and contents only once the bids are opened.
    var bids: [BidView]

    /// Times travel as seconds since 1970 (`extract(epoch ...)`), so the decoder needs no date parsing.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    private static let lists = """
        (SELECT coalesce(json_agg(json_build_object('action', x.action, 'fromStatus', x.from_status, 'toStatus', x.to_status, 'actor', x.actor,
                'reason', x.reason, 'at', extract(epoch FROM x.at)) ORDER BY x.id), '[]')
            FROM tender_transition x WHERE x.tender_id = t.id)::text AS transitions,
        (SELECT coalesce(json_agg(json_build_object('id', c.id, 'question', c.question, 'askedAt', extract(epoch FROM c.asked_at), 'answer', c.answer,
                'answeredAt', extract(epoch FROM c.answered_at)) ORDER BY c.asked_at, c.id), '[]')
            FROM clarification c WHERE c.tender_id = t.id)::text AS clarifications,
        (SELECT coalesce(json_agg(json_build_object('id', c.id, 'organisationId', c.organisation_id, 'grounds', c.grounds,
                'filedAt', extract(epoch FROM c.filed_at), 'upheld', c.upheld, 'decisionNote', c.decision_note,
                'decidedAt', extract(epoch FROM c.decided_at)) ORDER BY c.filed_at), '[]')
            FROM complaint c WHERE c.tender_id = t.id)::text AS complaints,
        (SELECT coalesce(json_agg(json_build_object('bidId', b.id, 'organisationId', b.organisation_id, 'organisationName', o.name,
                'version', b.version, 'sha256', b.sha256, 'submittedAt', extract(epoch FROM b.submitted_at), 'status', b.status,
                'statusReason', b.status_reason, 'priceFen', b.price_fen, 'contents', b.contents) ORDER BY b.submitted_at, b.id), '[]')
            FROM bid b LEFT JOIN organisation o ON o.id = b.organisation_id WHERE b.tender_id = t.id)::text AS bids
        """

    /// The page of tender `id`, or nil when there is no such tender (visibility is the caller's).
    static func read(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> TenderPage? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(TenderRecord.columns), \(lists) FROM \(TenderRecord.from) WHERE t.id = $1", binds: .of(id)),
            logger: logger)
        for try await row in rows {
            let columns = row.makeRandomAccess()
            let record = try TenderRecord(row: columns)
            func list<Item: Decodable>(_ name: String, of: Item.Type) throws -> [Item] {
                try decoder.decode([Item].self, from: Data(try columns[name].decode(String.self).utf8))
            }
            let opened = record.state.bidsOpened
            return TenderPage(
                record: record, transitions: try list("transitions", of: Transition.self),
                clarifications: try list("clarifications", of: TenderStore.Clarification.self),
                complaints: try list("complaints", of: TenderStore.ComplaintView.self),
                bids: try list("bids", of: BidView.self).map { bid in
                    var bid = bid
                    if !opened { (bid.priceFen, bid.contents) = (nil, nil) }
                    return bid
                })
        }
        return nil
    }
}
