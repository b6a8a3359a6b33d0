import Contracts
import Foundation

/// What is bought (001): care, integration, correction, rehabilitation, legal aid, employment and
/// psychological counselling.
public enum ServiceKind: String, Codable, Sendable, CaseIterable {
    case care, integration, correction, rehabilitation
    case legalAid = "legal-aid"
    case employmentCounselling = "employment-counselling"
    case psychologicalCounselling = "psychological-counselling"
}

/// Who is served (001).
public enum ServedGroup: String, Codable, Sendable, CaseIterable {
    case elderly
    case severelyDisabled = "severely-disabled"
    case minors
    case migrantWorkers = "migrant-workers"
    case unemployed
    case lowIncomeFamilies = "low-income-families"
}

/// Why the purchase is warranted: 受益广泛、群众急需、服务专业 (001).
public enum PurchaseCriterion: String, Codable, Sendable, CaseIterable {
    case broadBenefit = "broad-benefit"
    case urgentNeed = "urgent-need"
    case professionalService = "professional-service"
}

/// A measurable standard of good service: what is measured and the target it must reach.
public struct ServiceStandard: Codable, Sendable, Hashable {
    public var name: String
    public var measure: String
    public var target: String

    public init(name: String, measure: String, target: String) {
        self.name = name
        self.measure = measure
        self.target = target
    }
}

/// One line of the cost estimate.
public struct CostItem: Codable, Sendable, Hashable {
    public var item: String
    public var amountFen: Int

    public init(item: String, amountFen: Int) {
        self.item = item
        self.amountFen = amountFen
    }
}

/// The needs assessment a project starts from (001 §(四)3).
public struct NeedsAssessment: Codable, Sendable, Hashable {
    public var served: [String]
    public var people: Int
    /// Criterion (`broad-benefit`, `urgent-need`, `professional-service`) → why it applies.
    public var reasons: [String: String]
    public var whyNow: String

    public init(served: [String], people: Int, reasons: [String: String], whyNow: String) {
        self.served = served
        self.people = people
        self.reasons = reasons
        self.whyNow = whyNow
    }
}

/// A purchase project as proposed: the assessment, the standards, the estimate and the ceiling.
public struct ProjectPlan: Codable, Sendable, Hashable {
    public var title: String
    public var serviceKind: String
    /// The district, street or community served.
    public var placeCode: String
    public var needsAssessment: NeedsAssessment
    public var standards: [ServiceStandard]
    public var costEstimate: [CostItem]
    public var budgetCeilingFen: Int

    public init(
        title: String, serviceKind: String, placeCode: String, needsAssessment: NeedsAssessment, standards: [ServiceStandard],
        costEstimate: [CostItem], budgetCeilingFen: Int
    ) {
        self.title = title
        self.serviceKind = serviceKind
        self.placeCode = placeCode
        self.needsAssessment = needsAssessment
        self.standards = standards
        self.costEstimate = costEstimate
        self.budgetCeilingFen = budgetCeilingFen
    }

    /// The estimate's total, or `nil` when it does not fit in an `Int` (a plan that `issues()` refuses).
    public var estimateFen: Int? { Money.sum(costEstimate.map(\.amountFen)) }

    /// Every rule a project must meet, as field issues (empty when it meets them all).
    public func issues() -> [FieldIssue] {
        var issues: [FieldIssue] = []
        func text(_ field: String, _ value: String, max: Int) {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > max { issues.append(FieldIssue(field, "must be 1 to \(max) characters")) }
            if let unstorable = StorableField.issue(field, value) { issues.append(unstorable) }
        }
        text("title", title, max: 200)
        if let unstorable = StorableField.issue("placeCode", placeCode) { issues.append(unstorable) }
        if ServiceKind(rawValue: serviceKind) == nil {
            issues.append(FieldIssue("serviceKind", "must be one of \(ServiceKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let assessment = needsAssessment
        if assessment.served.isEmpty { issues.append(FieldIssue("needsAssessment.served", "name at least one group served")) }
        for (index, group) in assessment.served.enumerated() where ServedGroup(rawValue: group) == nil {
            issues.append(
                FieldIssue("needsAssessment.served[\(index)]", "must be one of \(ServedGroup.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if assessment.people < 1 || assessment.people > 10_000_000 { issues.append(FieldIssue("needsAssessment.people", "how many people are served (1 or more)")) }
        if assessment.reasons.isEmpty {
            issues.append(FieldIssue("needsAssessment.reasons", "justify at least one of broad-benefit, urgent-need, professional-service"))
        }
        for (criterion, why) in assessment.reasons.sorted(by: { $0.key < $1.key }) {
            if PurchaseCriterion(rawValue: criterion) == nil {
                issues.append(FieldIssue("needsAssessment.reasons.\(criterion)", "not a purchase criterion (broad-benefit, urgent-need, professional-service)"))
            } else {
                text("needsAssessment.reasons.\(criterion)", why, max: 2000)
            }
        }
        text("needsAssessment.whyNow", assessment.whyNow, max: 2000)
        if standards.isEmpty { issues.append(FieldIssue("standards", "name at least one measurable standard")) }
        for (index, standard) in standards.enumerated() {
            text("standards[\(index)].name", standard.name, max: 200)
            text("standards[\(index)].measure", standard.measure, max: 500)
            text("standards[\(index)].target", standard.target, max: 200)
        }
        if costEstimate.isEmpty { issues.append(FieldIssue("costEstimate", "break the cost into at least one item")) }
        for (index, item) in costEstimate.enumerated() {
            text("costEstimate[\(index)].item", item.item, max: 200)
            if let problem = Money.problem(item.amountFen) { issues.append(FieldIssue("costEstimate[\(index)].amountFen", problem)) }
        }
        if budgetCeilingFen <= 0 || budgetCeilingFen > Money.largestFen {
            issues.append(FieldIssue("budgetCeilingFen", "must be more than 0 and at most \(Money.largestFen)"))
        } else if costEstimate.allSatisfy({ Money.isAmount($0.amountFen) }) {
            // Each item is at most `largestFen`, but many of them may still add up past `Int.max`.
            if let estimate = estimateFen {
                if estimate > budgetCeilingFen {
                    issues.append(FieldIssue("budgetCeilingFen", "the estimate (\(estimate) fen) is over the ceiling (\(budgetCeilingFen) fen)"))
                }
            } else {
                issues.append(FieldIssue("costEstimate", "adds up to more than any ceiling (at most \(Money.largestFen) fen)"))
            }
        }
        return issues
    }
}

/// What a tender adds to its project: the deadline, the panel and the weights.
public struct TenderPlan: Sendable, Hashable {
    public var title: String
    public var biddingDeadline: Date
    public var panelFields: [String]
    public var panelSize: Int
    public var weights: ScoreWeights
    public var purchaserOrganisationId: UUID?
    public var thirdPartyOrganisationId: UUID?

    public init(
        title: String, biddingDeadline: Date, panelFields: [String], panelSize: Int, weights: ScoreWeights, purchaserOrganisationId: UUID?,
        thirdPartyOrganisationId: UUID?
    ) {
        self.title = title
        self.biddingDeadline = biddingDeadline
        self.panelFields = panelFields
        self.panelSize = panelSize
        self.weights = weights
        self.purchaserOrganisationId = purchaserOrganisationId
        self.thirdPartyOrganisationId = thirdPartyOrganisationId
    }

    /// Panels of 3 to 9 experts, an odd number so that a split vote cannot happen.
    public static let panelSizes = 3...9

    public func issues(now: Date) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.count > 200 { issues.append(FieldIssue("title", "must be 1 to 200 characters")) }
        if let unstorable = StorableField.issue("title", title) { issues.append(unstorable) }
        if biddingDeadline <= now { issues.append(FieldIssue("biddingDeadline", "must be in the future")) }
        if panelFields.isEmpty || panelFields.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            issues.append(FieldIssue("panel.fields", "name the experts' fields (e.g. social-work, law, finance)"))
        }
        if panelFields.contains(where: StorableField.holdsNUL) { issues.append(FieldIssue("panel.fields", StorableField.problem)) }
        if !Self.panelSizes.contains(panelSize) || panelSize % 2 == 0 {
            issues.append(FieldIssue("panel.size", "must be an odd number from 3 to 9"))
        }
        issues += weights.issues()
        return issues
    }
}
