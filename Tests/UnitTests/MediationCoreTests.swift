import Foundation
import MediationCore
import Testing

@Suite struct CaseLifecycle {
    static let mediator = UUID()

    static func actions() -> [CaseAction] {
        [
            .accept, .refuse(reason: "before a court"), .assign(mediator: mediator), .startMediation, .reachAgreement(document: "agreement"),
            .fail(reason: "no agreement"), .referToLegal(reason: "court"), .withdraw(reason: "settled privately"), .escalate(reason: "overdue"),
            .transfer(to: .community("C2"), reason: "wrong community"), .transfer(to: .outside(body: "labour arbitration"), reason: "labour contract"),
            .followUp(holds: true, note: "holds"), .close, .reopen(reason: "agreement broken"),
        ]
    }

    /// Which actions apply in which status; everything else must be refused.
    static let legal: [CaseStatus: Set<String>] = [
        .reported: ["accept", "refuse", "withdraw", "escalate", "transfer"],
        .accepted: ["assign", "withdraw", "escalate", "transfer"],
        .assigned: ["assign", "start-mediation", "withdraw", "escalate", "transfer"],
        .inMediation: ["assign", "reach-agreement", "fail", "refer-to-legal", "withdraw", "escalate", "transfer"],
        .agreementReached: ["follow-up", "close", "reopen"],
        .failed: ["refer-to-legal", "close", "reopen"],
        .referredToLegal: ["close"],
        .refused: ["close"],
        .transferredOut: ["close"],
        .withdrawn: ["close", "reopen"],
        .closed: ["reopen"],
    ]

    @Test(arguments: CaseStatus.allCases)
    func everyActionIsEitherLegalOrRefusedWithAReason(status: CaseStatus) {
        let state = CaseState(status: status, community: "C1", mediator: Self.mediator)
        for action in Self.actions() {
            let allowed = Self.legal[status, default: []].contains(action.name)
            do {
                _ = try state.applying(action)
                #expect(allowed, "\(action.name) was accepted in \(status.rawValue)")
            } catch {
                #expect(!allowed, "\(action.name) was refused in \(status.rawValue): \(error)")
                #expect(error.status == status)
                #expect(!error.hint.isEmpty)
            }
        }
    }

    @Test func aCaseGoesFromReportToAgreementAndIsClosedAfterAFollowUpFindsItHolding() throws {
        var state = CaseState(community: "C1")
        for action: CaseAction in [.accept, .assign(mediator: Self.mediator), .startMediation, .reachAgreement(document: "d"), .followUp(holds: true, note: "")] {
            state = try state.applying(action)
        }
        #expect(state.status == .agreementReached)
        #expect(try state.applying(.close).status == .closed)
    }

    @Test func aBrokenAgreementCannotBeClosedAndReopensToItsMediator() throws {
        let broken = try CaseState(status: .agreementReached, community: "C1", mediator: Self.mediator).applying(.followUp(holds: false, note: "fence rebuilt"))
        #expect(throws: IllegalTransition.self) { try broken.applying(.close) }
        let reopened = try broken.applying(.reopen(reason: "fence rebuilt"))
        #expect(reopened.status == .assigned)
        #expect(reopened.mediator == Self.mediator)
    }

    @Test func escalationClimbsOneLevelAtATimeAndStopsAtTheDistrict() throws {
        var state = CaseState(status: .inMediation, community: "C1", mediator: Self.mediator)
        state = try state.applying(.escalate(reason: "overdue"))
        #expect(state.level == .street)
        #expect(state.status == .accepted)
        #expect(state.mediator == nil)
        state = try state.applying(.escalate(reason: "overdue"))
        #expect(state.level == .district)
        #expect(throws: IllegalTransition.self) { try state.applying(.escalate(reason: "overdue")) }
    }

    @Test func aTransferToAnotherCommunityStartsRoutingThereAndATransferOutLeavesMediation() throws {
        let open = CaseState(status: .assigned, level: .street, community: "C1", mediator: Self.mediator)
        let moved = try open.applying(.transfer(to: .community("C2"), reason: "the parties live in C2"))
        #expect(moved.community == "C2")
        #expect(moved.level == .community)
        #expect(moved.status == .accepted)
        #expect(throws: IllegalTransition.self) { try open.applying(.transfer(to: .community("C1"), reason: "same")) }
        #expect(try open.applying(.transfer(to: .outside(body: "police"), reason: "a crime")).status == .transferredOut)
    }

    @Test func anUnresolvedOutcomeIsNeverRecordedAsAnAgreement() throws {
        let failed = try CaseState(status: .inMediation, community: "C1").applying(.fail(reason: "parties apart"))
        #expect(failed.status == .failed)
        #expect(try failed.applying(.close).status == .closed)
        #expect(throws: IllegalTransition.self) { try failed.applying(.reachAgreement(document: "d")) }
    }
}

@Suite struct Deadlines {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    static func time(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    @Test func aMinorCaseReportedAt1400IsDueAtMidnightLocalTime() {
        let due = DeadlineRule.sameDay().deadline(from: Self.time("2026-11-23T14:00:00+08:00"), timeZone: Self.shanghai)
        #expect(due == Self.time("2026-11-24T00:00:00+08:00"))
    }

    @Test func aMinorCaseReportedAt2300GetsTheLateHoursInsteadOfAnHour() {
        let due = DeadlineRule.sameDay(lateAfterHour: 20, lateHours: 12).deadline(from: Self.time("2026-11-23T23:00:00+08:00"), timeZone: Self.shanghai)
        #expect(due == Self.time("2026-11-24T11:00:00+08:00"))
    }

    @Test func midnightIsLocalToTheConfiguredTimeZone() {
        let report = Self.time("2026-11-23T10:00:00Z")  // 18:00 in Shanghai, 10:00 in London
        #expect(DeadlineRule.sameDay().deadline(from: report, timeZone: Self.shanghai) == Self.time("2026-11-24T00:00:00+08:00"))
        #expect(DeadlineRule.sameDay().deadline(from: report, timeZone: TimeZone(identifier: "Europe/London")!) == Self.time("2026-11-24T00:00:00Z"))
    }

    @Test func majorCasesHaveDaysInsideTheCommunityAndMoreAboveIt() {
        let community = DefaultDeadlines.rule(category: .neighbours, severity: .major, level: .community)
        let street = DefaultDeadlines.rule(category: .neighbours, severity: .major, level: .street)
        #expect(community == .within(hours: 72))
        #expect(street.hours > community.hours)
        #expect(DefaultDeadlines.rule(category: .neighbours, severity: .minor, level: .community).kind == .sameDay)
        for category in DisputeCategory.allCases {
            for severity in Severity.allCases {
                for level in MediationLevel.allCases {
                    #expect(DefaultDeadlines.rule(category: category, severity: severity, level: level).problems.isEmpty)
                }
            }
        }
        #expect(!DeadlineRule.within(hours: 0).problems.isEmpty)
    }
}

@Suite struct CaseRouting {
    @Test func theLeastLoadedActiveMediatorOfTheCommunityGetsTheCaseAndTiesGoToTheSmallestID() throws {
        let a = UUID(uuidString: "00000000-0000-0000-0000-00000000000A")!
        let b = UUID(uuidString: "00000000-0000-0000-0000-00000000000B")!
        let c = UUID(uuidString: "00000000-0000-0000-0000-00000000000C")!
        let mediators = [
            MediatorLoad(id: c, level: .community, place: "C1", openCases: 1),
            MediatorLoad(id: b, level: .community, place: "C1", openCases: 1),
            MediatorLoad(id: a, level: .community, place: "C1", active: false, openCases: 0),
            MediatorLoad(id: UUID(), level: .community, place: "C2", openCases: 0),
            MediatorLoad(id: UUID(), level: .street, place: "S1", openCases: 0),
        ]
        #expect(Routing.mediator(level: .community, place: "C1", among: mediators) == b)
        #expect(Routing.mediator(level: .community, place: "C9", among: mediators) == nil)
        #expect(Routing.mediator(level: .street, place: "S1", among: mediators) != nil)
    }
}
