import BiddingCore
import Contracts
import Foundation

/// Open Contracting Data Standard 1.1 release packages for awarded tenders and their contracts, so
/// that the public and auditors read them with existing OCDS tools. Amounts are in yuan, as OCDS
/// expects; the `bids` section follows the OCDS bid extension.
enum OCDS {
    struct Value: Codable, Sendable, Equatable {
        var amount: Decimal
        var currency = "CNY"

        init(fen: Int) { amount = Decimal(fen) / 100 }
    }

    struct OrganizationReference: Codable, Sendable { var id: String; var name: String }
    struct Party: Codable, Sendable { var id: String; var name: String; var roles: [String] }
    struct Period: Codable, Sendable { var startDate: Date?; var endDate: Date? }
    struct Budget: Codable, Sendable { var description: String; var amount: Value }
    struct Planning: Codable, Sendable { var rationale: String; var budget: Budget }
    struct Item: Codable, Sendable { var id: String; var description: String; var classification: Classification }
    struct Classification: Codable, Sendable { var scheme: String; var id: String; var description: String }

    struct Tender: Codable, Sendable {
        var id: String
        var title: String
        var status: String
        var items: [Item]
        var value: Value
        var procurementMethod = "open"
        var procurementMethodDetails = "public tender with sealed bids and a randomly drawn expert panel"
        var mainProcurementCategory = "services"
        var awardCriteria = "ratedCriteria"
        var awardCriteriaDetails: String
        var submissionMethod = ["electronicSubmission"]
        var tenderPeriod: Period
        var numberOfTenderers: Int
        var tenderers: [OrganizationReference]
    }

    struct BidDetail: Codable, Sendable {
        var id: String
        var date: Date
        var status: String
        var tenderers: [OrganizationReference]
        var value: Value?
    }

    struct Bids: Codable, Sendable { var details: [BidDetail] }

    struct Award: Codable, Sendable {
        var id: String
        var title: String
        var status = "active"
        var date: Date
        var value: Value
        var suppliers: [OrganizationReference]
    }

    struct Transaction: Codable, Sendable {
        var id: String
        var source = "city-treasury"
        var date: Date
        var value: Value
        var payer: OrganizationReference
        var payee: OrganizationReference
    }

    struct Milestone: Codable, Sendable {
        var id: String
        var title: String
        var type = "delivery"
        var description: String
        var dueDate: String
        var status: String
        var dateMet: Date?
        var value: Value
    }

    struct Implementation: Codable, Sendable { var transactions: [Transaction] }

    struct Contract: Codable, Sendable {
        var id: String
        var awardID: String
        var title: String
        var status: String
        var value: Value
        var dateSigned: String
        var milestones: [Milestone]
        var implementation: Implementation
    }

    struct Release: Codable, Sendable {
        var ocid: String
        var id: String
        var date: Date
        var tag: [String]
        var initiationType = "tender"
        var language = "en"
        var parties: [Party]
        var buyer: OrganizationReference
        var planning: Planning
        var tender: Tender
        var bids: Bids
        var awards: [Award]
        var contracts: [Contract]
    }

    struct Publisher: Codable, Sendable { var name: String }

    struct ReleasePackage: Codable, Sendable {
        var uri: String
        var version = "1.1"
        var publishedDate: Date
        var publisher: Publisher
        var publicationPolicy: String
        var releases: [Release]
        var nextCursor: String?
    }

    /// Everything a release is made from.
    struct Facts: Sendable {
        var tender: TenderRecord
        var project: ProjectView
        var bids: [BidView]
        var contract: ContractView?
    }

    /// Tenders are in OCDS from the award on.
    static let published: Set<TenderStatus> = [.awarded, .contracted, .completed, .performanceEvaluated]

    static func ocid(prefix: String, tender: UUID) -> String { "\(prefix)-\(tender.uuidString.lowercased())" }

    static func release(_ facts: Facts, prefix: String) -> Release {
        let tender = facts.tender
        let key = tender.id.uuidString.lowercased()
        let buyerID = tender.purchaserOrganisationId?.uuidString.lowercased() ?? "buyer-\(tender.placeCode)"
        let buyer = OrganizationReference(id: buyerID, name: "Purchaser for \(tender.placeCode)")
        func reference(_ bid: BidView) -> OrganizationReference {
            OrganizationReference(id: bid.organisationId.uuidString.lowercased(), name: bid.organisationName ?? bid.organisationId.uuidString.lowercased())
        }
        let tenderers = facts.bids.map(reference)
        var parties = [Party(id: buyer.id, name: buyer.name, roles: ["buyer", "procuringEntity"])]
        for bid in facts.bids {
            let supplier = bid.bidId == tender.awardedBidId
            parties.append(Party(id: reference(bid).id, name: reference(bid).name, roles: supplier ? ["tenderer", "supplier", "payee"] : ["tenderer"]))
        }
        let bidDetails = facts.bids.map { bid in
            BidDetail(
                id: bid.bidId.uuidString.lowercased(), date: bid.submittedAt, status: bid.status == "disqualified" ? "disqualified" : "valid",
                tenderers: [reference(bid)], value: bid.priceFen.map(Value.init(fen:)))
        }
        let winner = facts.bids.first { $0.bidId == tender.awardedBidId }
        let awardID = "\(key)-award-1"
        let awards = winner.map { bid in
            [Award(id: awardID, title: tender.title, date: tender.updatedAt, value: Value(fen: bid.priceFen ?? 0), suppliers: [reference(bid)])]
        } ?? []
        var contracts: [Contract] = []
        if let contract = facts.contract, let winner {
            let payee = reference(winner)
            contracts.append(
                Contract(
                    id: contract.id.uuidString.lowercased(), awardID: awardID, title: tender.title,
                    status: tender.status == .contracted ? "active" : "terminated", value: Value(fen: contract.valueFen), dateSigned: contract.signedOn,
                    milestones: contract.milestones.map { milestone in
                        Milestone(
                            id: milestone.id.uuidString.lowercased(), title: milestone.title, description: milestone.deliverable, dueDate: milestone.dueOn,
                            status: ["accepted", "paid"].contains(milestone.status) ? "met" : "scheduled", dateMet: milestone.acceptedAt,
                            value: Value(fen: milestone.amountFen))
                    },
                    implementation: Implementation(
                        transactions: contract.milestones.compactMap { milestone in
                            milestone.paidAt.map { paid in
                                Transaction(id: "\(milestone.id.uuidString.lowercased())-payment", date: paid, value: Value(fen: milestone.amountFen), payer: buyer, payee: payee)
                            }
                        })))
        }
        let tag: [String] =
            switch tender.status {
            case .awarded: ["award"]
            case .contracted: ["contract", "implementation"]
            default: ["contractTermination"]
            }
        let weights = tender.weights
        return Release(
            ocid: ocid(prefix: prefix, tender: tender.id),
            id: "\(key)-\(tender.status.rawValue)-\(Int(tender.updatedAt.timeIntervalSince1970))", date: tender.updatedAt, tag: tag,
            parties: parties, buyer: buyer,
            planning: Planning(
                rationale: facts.project.plan.needsAssessment.whyNow,
                budget: Budget(description: facts.project.plan.title, amount: Value(fen: facts.project.plan.budgetCeilingFen))),
            tender: Tender(
                id: key, title: tender.title, status: "complete",
                items: [
                    Item(
                        id: "1", description: facts.project.plan.title,
                        classification: Classification(scheme: "x_city_service_kind", id: tender.serviceKind, description: tender.serviceKind))
                ],
                value: Value(fen: tender.ceilingFen),
                awardCriteriaDetails:
                    "weights: price \(weights.price), experts \(weights.expert), purchaser \(weights.purchaser), recipients \(weights.recipients), third party \(weights.thirdParty)",
                tenderPeriod: Period(startDate: tender.publishedAt, endDate: tender.deadlineAt), numberOfTenderers: tenderers.count, tenderers: tenderers),
            bids: Bids(details: bidDetails), awards: awards, contracts: contracts)
    }
}
