import BiddingCore
import Contracts
import Crypto
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceRuntime
import Storage

/// What a bidder gets back for a submission: proof of what was sealed, never the contents.
public struct BidReceipt: Codable, Sendable {
    public var bidId: UUID
    public var tenderId: UUID
    public var organisationId: UUID
    public var version: Int
    public var sha256: String
    public var submittedAt: Date
}

/// A bid as listed. `contents` and `priceFen` exist only once bidding has closed.
public struct BidView: Codable, Sendable {
    public var bidId: UUID
    public var organisationId: UUID
    public var organisationName: String?
    public var version: Int
    public var sha256: String
    public var submittedAt: Date
    /// `sealed` until bidding closes; then `qualified`, `disqualified`, `awarded` or `lost`.
    public var status: String
    public var statusReason: String?
    public var priceFen: Int?
    public var contents: BidContents?
    /// Every hash announced for this bid, replaced versions included.
    public var history: [BidSubmitted]?
}

/// Sealed bids: submission (encrypted, hash announced), opening at the deadline, disqualification.
struct BidBox: Sendable {
    let logger: Logger
    let seal: BidSeal
    let store: TenderStore

    /// Submits the organisation's one bid, or replaces it when `replacing` names its current version
    /// (a second submission that does not say so is a duplicate and refused). Refused after the
    /// deadline even if the scheduler has not closed the tender yet: the deadline is the rule, the
    /// scheduler only records it.
    func submit(
        _ contents: BidContents, replacing: Int?, to tenderID: UUID, organisation: UUID, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> (BidReceipt, replaced: Bool) {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        guard tender.status == .published else {
            throw BiddingError.illegal(
                IllegalTenderTransition(action: "take bids", status: tender.status, hint: tender.status == .suspended ? "a complaint is being decided" : "bids are taken only while it is published"))
        }
        guard now < tender.deadlineAt else { throw BiddingError.conflict("the bidding deadline \(iso(tender.deadlineAt)) has passed") }
        let issues = contents.issues(ceilingFen: tender.ceilingFen)
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        try await requireEligible(organisation, on: connection)
        guard organisation != tender.purchaserOrganisationId, organisation != tender.thirdPartyOrganisationId else {
            throw BiddingError.conflict("the purchaser and the third-party evaluator may not bid for this tender")
        }

        var existing: (UUID, Int)?
        for try await row in try await connection.query(
            "SELECT id, version FROM bid WHERE tender_id = \(tenderID) AND organisation_id = \(organisation) FOR UPDATE", logger: logger
        ).decode((UUID, Int).self) { existing = row }
        switch (existing, replacing) {
        case (nil, nil): break
        case (nil, .some):
            throw BiddingError.conflict("your organisation has no bid for this tender to replace; submit without replacesVersion")
        case (.some(let current), let asked) where asked != current.1:
            throw BiddingError.conflict(
                "your organisation has a bid for this tender already (version \(current.1)); one bid per organisation: to replace it, send replacesVersion \(current.1)")
        default: break
        }
        let bidID = existing?.0 ?? UUID.random()
        let version = (existing?.1 ?? 0) + 1
        let sealed = try seal.seal(contents, tender: tenderID, bid: bidID, organisation: organisation, version: version)
        try rehearseOpening(sealed, of: contents, tender: tender, bid: bidID, organisation: organisation, version: version)
        if existing == nil {
            try await connection.query(
                """
                INSERT INTO bid (id, tender_id, organisation_id, version, sha256, sealed, submitted_at, status)
                VALUES (\(bidID), \(tenderID), \(organisation), \(version), \(sealed.sha256), \(ByteBuffer(data: sealed.ciphertext)), \(now), 'sealed')
                """, logger: logger)
        } else {
            try await connection.query(
                """
                UPDATE bid SET version = \(version), sha256 = \(sealed.sha256), sealed = \(ByteBuffer(data: sealed.ciphertext)), submitted_at = \(now)
                WHERE id = \(bidID)
                """, logger: logger)
        }
        try await connection.query(
            "INSERT INTO bid_submission (bid_id, version, sha256, submitted_at) VALUES (\(bidID), \(version), \(sealed.sha256), \(now))", logger: logger)
        let receipt = BidReceipt(bidId: bidID, tenderId: tenderID, organisationId: organisation, version: version, sha256: sealed.sha256, submittedAt: now)
        try await BiddingEvents.append(
            BiddingEventTypes.bidSubmitted, tender: tenderID,
            BidSubmitted(tenderId: tenderID, bidId: bidID, organisationId: organisation, version: version, sha256: sealed.sha256, submittedAt: now),
            now: now, on: connection, logger: logger)
        Counter(label: "bidding_bids_submitted_total").increment()
        logger.info("bid sealed", metadata: ["aggregate.id": "\(tenderID)", "bid.id": "\(bidID)", "version": "\(version)", "sha256": "\(sealed.sha256)"])
        return (receipt, existing != nil)
    }

    func requireEligible(_ organisation: UUID, on connection: PostgresConnection) async throws {
        if let reason = try await ineligibility(of: organisation, on: connection) {
            throw BiddingError.ineligible(organisation: organisation, reason: reason)
        }
    }

    /// Why the organisation may not bid as the registry last published it; `nil` when it may.
    func ineligibility(of organisation: UUID, on connection: PostgresConnection) async throws -> String? {
        for try await (kind, legalPerson, authority, eligible) in try await connection.query(
            "SELECT kind, legal_person, registration_authority, eligible_bidder FROM organisation WHERE id = \(organisation)", logger: logger
        ).decode((String, Bool, String?, Bool).self) {
            return BidderEligibility.refusal(known: true, eligible: eligible, kind: kind, legalPerson: legalPerson, registrationAuthority: authority)
        }
        return BidderEligibility.refusal(known: false, eligible: false, kind: nil, legalPerson: false, registrationAuthority: nil)
    }

    /// Opens the bid just sealed the way the scheduler will at the deadline, and checks that what
    /// opening stores is what was sent: a bid that could not be opened is refused now (400, nothing
    /// written), not found out when the tender closes.
    func rehearseOpening(_ sealed: SealedBid, of contents: BidContents, tender: TenderRecord, bid: UUID, organisation: UUID, version: Int) throws {
        let reopened: BidContents
        do {
            reopened = try BidSeal.open(
                sealed.ciphertext, key: seal.tenderKey(tender.id), tender: tender.id, bid: bid, organisation: organisation, version: version,
                announced: sealed.sha256)
        } catch {
            logger.error("a bid just sealed does not open", metadata: ["aggregate.id": "\(tender.id)", "bid.id": "\(bid)", "problem": "\(error.description)"])
            throw BiddingError.invalid([FieldIssue("bid", "cannot be sealed so that it opens again: \(error.description)")])
        }
        let issues = reopened.issues(ceilingFen: tender.ceilingFen)
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        let stored = try EventCoding.decoder.decode(BidContents.self, from: Data(try Self.storedContents(reopened).utf8))
        guard reopened == contents, stored == contents else {
            throw BiddingError.invalid([FieldIssue("bid", "does not read back as it was sent once sealed and opened; simplify its text and send it again")])
        }
    }

    /// The contents as opening stores them (`bid.contents`, jsonb).
    static func storedContents(_ contents: BidContents) throws -> String {
        String(decoding: try JSONEncoder.api.encode(contents), as: UTF8.self)
    }

    /// Opens the bids with the tender's key, one by one: a bid that cannot be opened — a broken seal,
    /// contents that break the bidding rules, values the database refuses — or whose organisation is
    /// no longer eligible is disqualified with its reason (and kept), and the others open as usual.
    /// Returns the bids as opened.
    func open(_ tender: TenderRecord, key: SymmetricKey, on connection: PostgresConnection) async throws -> [OpenedBid] {
        var sealed: [(UUID, UUID, Int, String, Data)] = []
        for try await (bid, organisation, version, sha, ciphertext) in try await connection.query(
            "SELECT id, organisation_id, version, sha256, sealed FROM bid WHERE tender_id = \(tender.id) ORDER BY id FOR UPDATE", logger: logger
        ).decode((UUID, UUID, Int, String, ByteBuffer).self) {
            sealed.append((bid, organisation, version, sha, Data(buffer: ciphertext)))
        }
        var opened: [OpenedBid] = []
        for (bid, organisation, version, sha, ciphertext) in sealed {
            let metadata: Logger.Metadata = ["aggregate.id": "\(tender.id)", "bid.id": "\(bid)"]
            var reason: String?
            var contents: BidContents?
            do {
                contents = try BidSeal.open(ciphertext, key: key, tender: tender.id, bid: bid, organisation: organisation, version: version, announced: sha)
            } catch {
                reason = "seal broken: \(error.description)"
                logger.error("sealed bid failed its check", metadata: metadata.merging(["problem": "\(error.description)"]) { $1 })
            }
            // Submission checks these; a bid sealed before a rule existed, or altered by someone
            // holding the key, is checked again here rather than trusted.
            if let issues = contents?.issues(ceilingFen: tender.ceilingFen), !issues.isEmpty {
                reason = "breaks the bidding rules: " + issues.map(\.description).joined(separator: "; ")
                contents = nil
                logger.error("opened bid breaks the bidding rules", metadata: metadata.merging(["problem": "\(reason ?? "")"]) { $1 })
            }
            if reason == nil, let why = try await ineligibility(of: organisation, on: connection) { reason = "ineligible at opening: \(why)" }
            do {
                try await writeOpened(bid, reason: reason, contents: contents, on: connection)
            } catch let refused as PSQLError where Self.isRefusalOfValues(refused) {
                // The database refused this bid's values: the bid is disqualified, the tender goes on.
                logger.error("opened bid could not be stored", metadata: metadata.merging(["error": "\(String(reflecting: refused))"]) { $1 })
                reason = "could not be stored when opened: \(Self.summary(refused))"
                contents = nil
                try await writeOpened(bid, reason: reason, contents: nil, on: connection)
            }
            opened.append(OpenedBid(bidId: bid, organisationId: organisation, sha256: sha, status: reason == nil ? "qualified" : "disqualified", reason: reason))
        }
        return opened
    }

    /// Writes one opened bid inside a savepoint, so that a refusal of its values undoes only this
    /// statement and leaves the tender's transaction usable for the other bids.
    private func writeOpened(_ bid: UUID, reason: String?, contents: BidContents?, on connection: PostgresConnection) async throws {
        let status = reason == nil ? "qualified" : "disqualified"
        let reason = reason.map(Self.storable)
        try await connection.query("SAVEPOINT open_bid", logger: logger)
        do {
            let json = try contents.map(Self.storedContents)
            try await connection.query(
                """
                UPDATE bid SET status = \(status), status_reason = \(reason), price_fen = \(contents?.priceFen), contents = \(json)::jsonb
                WHERE id = \(bid)
                """, logger: logger)
        } catch {
            try await connection.query("ROLLBACK TO SAVEPOINT open_bid", logger: logger)
            throw error
        }
        try await connection.query("RELEASE SAVEPOINT open_bid", logger: logger)
    }

    /// A server error about the values written (a data exception, a constraint, a size limit), as
    /// opposed to a lost connection or a failed transaction, which end the tender's round instead.
    static func isRefusalOfValues(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return ["22", "23", "54"].contains(String(state.prefix(2)))
    }

    /// What the database said, short enough for a bid's status reason.
    static func summary(_ error: PSQLError) -> String {
        let message = error.serverInfo?[.message] ?? "refused"
        let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        return storable(String(message.prefix(300)) + state)
    }

    /// A reason the database can store whatever went into it.
    static func storable(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{0}", with: "\\u0000")
    }

    /// The panel (or purchaser) finds a bid ineligible after opening: disqualified, which is not lost.
    func disqualify(_ bidID: UUID, of tenderID: UUID, reason: String, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> BidView {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw BiddingError.invalid([FieldIssue("reason", "say why the bid is disqualified")]) }
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        try tender.requirePurchaser(actor, action: "disqualify bids")
        guard tender.status == .biddingClosed || tender.status == .panelDrawn else {
            throw BiddingError.illegal(IllegalTenderTransition(action: "disqualify a bid", status: tender.status, hint: "bids are disqualified between opening and evaluation"))
        }
        let changed = try await connection.exists(
            "UPDATE bid SET status = 'disqualified', status_reason = \(reason) WHERE id = \(bidID) AND tender_id = \(tenderID) AND status = 'qualified' RETURNING 1",
            logger: logger)
        guard changed else { throw BiddingError.notFound(what: "qualified bid", id: bidID) }
        try await store.history(tender, action: "disqualify-bid", from: tender, actor: actor.subject, reason: "\(bidID.uuidString.lowercased()): \(reason)", now: now, on: connection)
        try await BiddingEvents.append(
            BiddingEventTypes.changed, tender: tenderID,
            TenderTransitioned(tender: tender.snapshot, action: "disqualify-bid", fromStatus: tender.status.rawValue, actor: actor.subject, reason: reason),
            now: now, on: connection, logger: logger)
        return try await bids(of: tender, on: connection).first { $0.bidId == bidID }!
    }

    /// The tender's bids. Before bidding closes: who bid, when, and the hashes, never the contents.
    func bids(of tender: TenderRecord, withHistory: Bool = false, on connection: PostgresConnection) async throws -> [BidView] {
        let opened = tender.state.bidsOpened
        var views: [BidView] = []
        for try await (bid, organisation, name, version, sha, submitted, status, reason, price, contents) in try await connection.query(
            """
            SELECT b.id, b.organisation_id, o.name, b.version, b.sha256, b.submitted_at, b.status, b.status_reason, b.price_fen, b.contents::text
            FROM bid b LEFT JOIN organisation o ON o.id = b.organisation_id WHERE b.tender_id = \(tender.id) ORDER BY b.submitted_at, b.id
            """, logger: logger
        ).decode((UUID, UUID, String?, Int, String, Date, String, String?, Int?, String?).self) {
            views.append(
                BidView(
                    bidId: bid, organisationId: organisation, organisationName: name, version: version, sha256: sha, submittedAt: submitted,
                    status: status, statusReason: reason, priceFen: opened ? price : nil,
                    contents: opened ? try contents.map { try EventCoding.decoder.decode(BidContents.self, from: Data($0.utf8)) } : nil))
        }
        if withHistory {
            var history: [UUID: [BidSubmitted]] = [:]
            for try await (bid, organisation, version, sha, submitted) in try await connection.query(
                """
                SELECT s.bid_id, b.organisation_id, s.version, s.sha256, s.submitted_at FROM bid_submission s JOIN bid b ON b.id = s.bid_id
                WHERE b.tender_id = \(tender.id) ORDER BY s.bid_id, s.version
                """, logger: logger
            ).decode((UUID, UUID, Int, String, Date).self) {
                history[bid, default: []].append(
                    BidSubmitted(tenderId: tender.id, bidId: bid, organisationId: organisation, version: version, sha256: sha, submittedAt: submitted))
            }
            for index in views.indices { views[index].history = history[views[index].bidId] ?? [] }
        }
        return views
    }
}

func iso(_ date: Date) -> String { date.formatted(.iso8601) }
