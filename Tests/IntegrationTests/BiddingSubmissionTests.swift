import BiddingCore
@testable import BiddingService
import Contracts
import Foundation
import ServiceRuntime
import Storage
import Testing

extension IntegrationSuite {
    /// The bid box itself, below the HTTP layer: its own checks refuse a bid that could not be opened,
    /// whatever guards stand in front of it.
    @Suite struct BidSubmission {
        @Test func theBidBoxRefusesAProposalHoldingNULWithItsFieldAndWritesNothing() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try #require(UUID(uuidString: try await bidding.publishedTender()))
                let organisation = BiddingHarness.organisation(1)
                let desk = EvaluationDesk(logger: Stack.logger, seal: BidSeal(secret: BiddingHarness.sealingKey))
                let principal = Principal(subject: "org-1", role: .organisation, scope: Scope(level: .organisation, id: organisation.uuidString.lowercased()))
                let contents = BidContents(priceFen: 400_000_00, proposal: "Weekly visits\u{0}by two social workers", team: ["Li Na", "Wang\u{0}"])
                do {
                    _ = try await bidding.database.transaction { connection in
                        try await desk.bids.submit(contents, replacing: nil, to: tender, organisation: organisation, actor: principal, now: bidding.clock.now, on: connection)
                    }
                    Issue.record("a proposal holding U+0000 was accepted")
                } catch BiddingError.invalid(let issues) {
                    #expect(issues.map(\.field) == ["proposal", "team[1]"])
                    #expect(BiddingError.invalid(issues).problem.status == .badRequest)
                }
                #expect(try await bidding.count("SELECT count(*) FROM bid") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE event_type = '\(BiddingEventTypes.bidSubmitted.rawValue)'") == 0)

                // The same bid without the character is sealed, and opens at the deadline.
                var clean = contents
                clean.proposal = "Weekly visits by two social workers"
                clean.team = ["Li Na", "Wang Fang"]
                let (receipt, replaced) = try await bidding.database.transaction { connection in
                    try await desk.bids.submit(clean, replacing: nil, to: tender, organisation: organisation, actor: principal, now: bidding.clock.now, on: connection)
                }
                #expect(!replaced && receipt.version == 1)
                try await bidding.passDeadline()
                #expect(try await bidding.count("SELECT count(*) FROM bid WHERE status = 'qualified' AND contents->>'proposal' = 'Weekly visits by two social workers'") == 1)
            }
        }
    }
}
