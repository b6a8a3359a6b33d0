import Contracts
import Foundation

/// A milestone as the contract sets it: a deliverable and the share of the price paid for it.
public struct MilestonePlan: Codable, Sendable, Hashable {
    public var title: String
    public var deliverable: String
    /// `YYYY-MM-DD`.
    public var dueOn: String
    public var amountFen: Int

    public init(title: String, deliverable: String, dueOn: String, amountFen: Int) {
        self.title = title
        self.deliverable = deliverable
        self.dueOn = dueOn
        self.amountFen = amountFen
    }
}

/// Where a milestone stands. Funds follow the work (随项目进展拨付经费, 003): a milestone is paid
/// only once its deliverable is accepted, and only once.
public enum MilestoneStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case delivered
    /// Sent back by the purchaser; the organisation delivers again.
    case returned
    case accepted
    case paid
}

public enum ContractRules {
    public static let maximumMilestones = 24

    /// The milestones must cover the awarded price exactly: every yuan paid is tied to a deliverable,
    /// and the total can never exceed the award.
    public static func issues(_ milestones: [MilestonePlan], contractValueFen: Int) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if milestones.isEmpty || milestones.count > maximumMilestones {
            issues.append(FieldIssue("milestones", "must be 1 to \(maximumMilestones)"))
        }
        var previousDue = ""
        for (index, milestone) in milestones.enumerated() {
            if milestone.title.trimmingCharacters(in: .whitespaces).isEmpty || milestone.title.count > 200 {
                issues.append(FieldIssue("milestones[\(index)].title", "must be 1 to 200 characters"))
            }
            if let unstorable = StorableField.issue("milestones[\(index)].title", milestone.title) { issues.append(unstorable) }
            if milestone.deliverable.trimmingCharacters(in: .whitespaces).isEmpty || milestone.deliverable.count > 2000 {
                issues.append(FieldIssue("milestones[\(index)].deliverable", "say what is delivered (1 to 2,000 characters)"))
            }
            if let unstorable = StorableField.issue("milestones[\(index)].deliverable", milestone.deliverable) { issues.append(unstorable) }
            if !isCalendarDay(milestone.dueOn) {
                issues.append(FieldIssue("milestones[\(index)].dueOn", "must be a date YYYY-MM-DD"))
            } else if milestone.dueOn < previousDue {
                issues.append(FieldIssue("milestones[\(index)].dueOn", "comes before the milestone above it"))
            }
            previousDue = max(previousDue, milestone.dueOn)
            if let problem = Money.problem(milestone.amountFen) { issues.append(FieldIssue("milestones[\(index)].amountFen", problem)) }
        }
        // The total is compared only when every amount is one; then it can still pass `Int.max` (many
        // milestones of the largest amount), which is a total over any award, not a trap.
        if !milestones.isEmpty, milestones.allSatisfy({ Money.isAmount($0.amountFen) }) {
            if let total = Money.sum(milestones.map(\.amountFen)) {
                if total != contractValueFen {
                    issues.append(FieldIssue("milestones", "add up to \(total) fen; they must add up to the awarded price, \(contractValueFen) fen"))
                }
            } else {
                issues.append(FieldIssue("milestones", "add up to more than any award; they must add up to the awarded price, \(contractValueFen) fen"))
            }
        }
        return issues
    }

    /// Whether a payment may be released: accepted, not paid yet, and within the contract's value.
    public static func paymentRefusal(status: MilestoneStatus, amountFen: Int, paidFen: Int, contractValueFen: Int) -> String? {
        switch status {
        case .paid: return "this milestone has been paid already"
        case .pending, .delivered, .returned: return "its deliverable has not been accepted (the milestone is \(status.rawValue))"
        case .accepted: break
        }
        guard Money.isAmount(amountFen) else { return "its amount, \(amountFen) fen, is not a payable amount" }
        guard let total = Money.adding(paidFen, amountFen) else {
            return "paying \(amountFen) fen on top of the \(paidFen) fen paid would be more than any contract's value"
        }
        if total > contractValueFen {
            return "paying \(amountFen) fen would bring the total paid to \(total) fen, over the contract's \(contractValueFen) fen"
        }
        return nil
    }

    public static func isCalendarDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (2000...2100).contains(year), (1...12).contains(month), day >= 1
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let first = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
            let days = calendar.range(of: .day, in: .month, for: first)
        else { return false }
        return days.contains(day)
    }
}

/// The final performance evaluation: how the service measured against each of the project's standards.
public struct StandardAssessment: Codable, Sendable, Hashable {
    public var standard: String
    public var met: Bool
    public var note: String?

    public init(standard: String, met: Bool, note: String? = nil) {
        self.standard = standard
        self.met = met
        self.note = note
    }
}

/// Eligibility to bid (001): social organisations with independent legal-person status, and
/// enterprises or institutions registered with the commerce or industry authority. The registry
/// decides and publishes it; this says why a refused organisation is refused.
public enum BidderEligibility {
    public static func refusal(known: Bool, eligible: Bool, kind: String?, legalPerson: Bool, registrationAuthority: String?) -> String? {
        guard known else { return "the organisation is not known to the registry" }
        guard !eligible else { return nil }
        let authority = (registrationAuthority ?? "").trimmingCharacters(in: .whitespaces)
        switch kind {
        case "social-group", "private-non-enterprise", "foundation":
            return legalPerson ? "the registry does not list it as an eligible bidder" : "a social organisation must have independent legal-person status"
        case "enterprise", "institution", "property-company":
            return authority.isEmpty ? "an enterprise or institution must be registered with the commerce or industry authority" : "the registry does not list it as an eligible bidder"
        default:
            return "a \(kind ?? "body") may not bid: only social organisations with legal-person status and registered enterprises or institutions may"
        }
    }
}
