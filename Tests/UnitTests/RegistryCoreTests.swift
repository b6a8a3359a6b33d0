import Contracts
import Foundation
@testable import RegistryCore
import Testing

@Suite struct NationalIDNumbers {
    // Outside the years China kept summer time (1986–1991) and before 1901 (local mean time), the
    // first second of a day in Asia/Shanghai is 00:00 at UTC+8.
    @Test(arguments: ["19120101", "19491231", "19700101", "20000229", "20241231", "19991231"])
    func theBirthDayArithmeticAgreesWithTheCalendar(day: String) throws {
        let digits = ("110105" + day + "002").compactMap(\.wholeNumberValue)
        #expect(NationalID.birthInstant(digits: digits) == NationalID.birthDate(digits: digits)?.timeIntervalSince1970)
    }

    @Test func fullWidthDigitsAreNotDigits() {
        #expect(throws: NationalID.Problem.notDigits) { try NationalID("１１０１０５１９４９１２３１００２X") }
    }

    /// Builds a valid number from 17 digits by computing its check character.
    static func valid(_ seventeen: String) -> String {
        seventeen + String(NationalID.checkCharacter(for: seventeen.compactMap(\.wholeNumberValue)))
    }

    @Test func theStandardsWorkedExampleIsValid() throws {
        // GB 11643-1999's example: 11010519491231002X.
        let id = try NationalID("11010519491231002x")
        #expect(id.value == "11010519491231002X")
        #expect(id.masked == "110105********002X")
        #expect(id.birthDay == "1949-12-31")
    }

    @Test func aMistypedDigitIsCaughtByTheCheckCharacter() {
        #expect(throws: NationalID.Problem.badCheckCharacter(expected: "X")) {
            try NationalID("110105194912310021")
        }
        #expect(throws: NationalID.Problem.self) { try NationalID("11010519491231102X") }
    }

    @Test func impossibleDatesOfBirthAreRefused() {
        #expect(throws: NationalID.Problem.badBirthDate) { try NationalID(Self.valid("11010519490230002")) }
        #expect(throws: NationalID.Problem.badBirthDate) { try NationalID(Self.valid("11010518991231002")) }
        let future = Date(timeIntervalSince1970: 0)
        #expect(throws: NationalID.Problem.badBirthDate) { try NationalID(Self.valid("11010519991231002"), today: future) }
    }

    @Test func shapeProblemsAreNamed() {
        #expect(throws: NationalID.Problem.wrongLength(17)) { try NationalID("11010519491231002") }
        #expect(throws: NationalID.Problem.notDigits) { try NationalID("1101051949123100AX") }
        #expect(throws: NationalID.Problem.badAreaCode) { try NationalID(Self.valid("91010519491231002")) }
    }

    @Test func spacesAreIgnored() throws {
        #expect(try NationalID("110105 19491231 002X").value == "11010519491231002X")
    }
}

@Suite struct RecordText {
    static func resident(name: String, phone: String? = nil) throws(InvalidRecord) -> ResidentFacts {
        try ResidentFacts(
            id: UUID(), householdId: UUID(), name: name, nationalID: nil, phone: phone, residency: "registered", floating: nil, groups: [])
    }

    @Test func surroundingWhiteSpaceIsDropped() throws {
        #expect(try Self.resident(name: " \t王小明\u{3000}\n").name == "王小明")
        #expect(try Self.resident(name: "Wang  Xiaoming").name == "Wang  Xiaoming")
        #expect(try Self.resident(name: "x", phone: "  ").phone == nil)
    }

    @Test func lengthsAreCountedInCharactersNotBytes() throws {
        #expect(try Self.resident(name: String(repeating: "王", count: 64)).name.count == 64)
        let long = #expect(throws: InvalidRecord.self) { try Self.resident(name: String(repeating: "王", count: 65)) }
        #expect(long?.description.contains("must have at most 64 characters") == true)
        let blank = #expect(throws: InvalidRecord.self) { try Self.resident(name: " \u{3000} ") }
        #expect(blank?.description.contains("must not be empty") == true)
    }
}

@Suite struct PolicyAndEligibility {
    @Test func sizesOutsidePolicyAreReportedNotRefused() {
        let policy = SizePolicy()
        #expect(policy.verdict(level: .grid, households: 299) == .tooSmall)
        #expect(policy.verdict(level: .grid, households: 300) == .withinPolicy)
        #expect(policy.verdict(level: .grid, households: 501) == .tooLarge)
        #expect(policy.verdict(level: .community, households: 3000) == .withinPolicy)
        #expect(policy.verdict(level: .community, households: 999) == .tooSmall)
        #expect(policy.verdict(level: .building, households: 10) == nil)
    }

    @Test func theHierarchyChainsUpToTheDistrict() {
        var level: PlaceLevel? = .household
        var chain: [PlaceLevel] = []
        while let current = level {
            chain.append(current)
            level = current.parent
        }
        #expect(chain == [.household, .building, .grid, .community, .street, .district])
    }

    @Test func onlyTheSensitiveGroupsAreSensitive() {
        #expect(PopulationGroup.allCases.filter(\.isSensitive) == [.communityCorrection, .releasedPrisoner, .drugUser, .mentalIllness])
    }

    @Test func biddersMustBeLegalPersonsOrRegisteredEnterprises() {
        #expect(isEligibleBidder(kind: .privateNonEnterprise, hasLegalPersonStatus: true, registrationAuthority: nil))
        #expect(!isEligibleBidder(kind: .socialGroup, hasLegalPersonStatus: false, registrationAuthority: "civil affairs"))
        #expect(isEligibleBidder(kind: .enterprise, hasLegalPersonStatus: false, registrationAuthority: "market regulation"))
        #expect(!isEligibleBidder(kind: .enterprise, hasLegalPersonStatus: true, registrationAuthority: "  "))
        #expect(!isEligibleBidder(kind: .residentsCommittee, hasLegalPersonStatus: true, registrationAuthority: "x"))
    }
}

@Suite struct RecordValidation {
    static let household = UUID()

    @Test func aFloatingResidentNeedsTheirRegistrationAndARegisteredOneMayNotHaveOne() {
        #expect(throws: InvalidRecord.self) {
            try ResidentFacts(
                id: UUID(), householdId: Self.household, name: "Li", nationalID: NationalIDNumbers.valid("44030519800101001"), phone: nil,
                residency: "floating", floating: nil, groups: [])
        }
        #expect(throws: InvalidRecord.self) {
            try ResidentFacts(
                id: UUID(), householdId: Self.household, name: "Li", nationalID: NationalIDNumbers.valid("44030519800101001"), phone: nil,
                residency: "registered", floating: FloatingRegistration(origin: "Hunan", arrivedOn: "2024-03-01"), groups: [])
        }
    }

    @Test func everyProblemOfAResidentIsReportedAtOnceWithItsField() throws {
        do {
            _ = try ResidentFacts(
                id: UUID(), householdId: Self.household, name: "", nationalID: "12345", phone: "call me",
                residency: "floating", floating: FloatingRegistration(origin: "Hunan", arrivedOn: "2024-02-30", permitExpiresOn: "2023-01-01"),
                groups: ["elderly", "astronaut"])
            Issue.record("an invalid resident was accepted")
        } catch {
            #expect(error.issues.map(\.field) == ["name", "nationalId", "phone", "floating.arrivedOn", "groups[1]"])
        }
    }

    @Test func sensitiveGroupsAreKeptApartFromOrdinaryOnes() throws {
        let facts = try ResidentFacts(
            id: UUID(), householdId: Self.household, name: "Zhang", nationalID: NationalIDNumbers.valid("44030519800101001"), phone: "+86 755-1234",
            residency: "registered", floating: nil, groups: ["mental-illness", "elderly", "low-income", "drug-user"])
        #expect(facts.ordinaryGroups == ["elderly", "low-income"])
        #expect(facts.sensitiveGroups == ["drug-user", "mental-illness"])
    }

    @Test func aPlaceHangsUnderTheLevelAboveAndOnlyCommunitiesHaveATypeAndWorkstation() {
        #expect(throws: InvalidRecord.self) {
            try PlaceFacts(code: "D1", level: "district", name: "D", parentCode: "CITY", communityType: nil, workstation: nil, boundary: nil, address: nil)
        }
        #expect(throws: InvalidRecord.self) {
            try PlaceFacts(code: "G1", level: "grid", name: "G", parentCode: nil, communityType: nil, workstation: nil, boundary: nil, address: nil)
        }
        #expect(throws: InvalidRecord.self) {
            try PlaceFacts(code: "C1", level: "community", name: "C", parentCode: "S1", communityType: nil, workstation: nil, boundary: nil, address: nil)
        }
        #expect(throws: InvalidRecord.self) {
            try PlaceFacts(code: "G1", level: "grid", name: "G", parentCode: "C1", communityType: "rural", workstation: "W", boundary: nil, address: nil)
        }
        #expect(throws: InvalidRecord.self) {
            try PlaceFacts(code: "bad code!", level: "street", name: "S", parentCode: "D1", communityType: nil, workstation: nil, boundary: nil, address: nil)
        }
        #expect(throws: Never.self) {
            try PlaceFacts(
                code: "C-01", level: "community", name: "Canal", parentCode: "S1", communityType: "village-to-residence", workstation: "WS 3",
                boundary: nil, address: nil)
        }
    }

    @Test func rolesCarryTheDetailsTheirWorkNeeds() {
        let today = CalendarDay("2026-11-23")!
        func role(_ name: String, level: PlaceLevel?, _ details: RoleDetails) throws(InvalidRecord) -> RoleFacts {
            try RoleFacts(
                id: UUID(), residentId: UUID(), role: name, placeCode: level == nil ? nil : "P1", placeLevel: level, details: details, startedOn: nil,
                today: today)
        }
        #expect(throws: InvalidRecord.self) { try role("grid-worker", level: .community, RoleDetails()) }
        #expect(throws: InvalidRecord.self) { try role("mediator", level: .community, RoleDetails()) }
        #expect(throws: InvalidRecord.self) { try role("mediator", level: .grid, RoleDetails(mediatorLevel: "community")) }
        #expect(throws: InvalidRecord.self) { try role("volunteer", level: .community, RoleDetails()) }
        #expect(throws: InvalidRecord.self) { try role("expert", level: nil, RoleDetails(fields: [])) }
        #expect(throws: InvalidRecord.self) { try role("grid-worker", level: .grid, RoleDetails(skills: ["cooking"])) }
        #expect(throws: Never.self) { try role("mediator", level: .street, RoleDetails(mediatorLevel: "street", fullTime: false)) }
        #expect(throws: Never.self) { try role("volunteer", level: .grid, RoleDetails(skills: ["tutoring"], availability: ["sat 09:00-12:30"])) }
        #expect(throws: Never.self) { try role("expert", level: nil, RoleDetails(fields: ["law"])) }
        #expect((try? role("social-worker", level: .district, RoleDetails()))?.startedOn == today)
    }

    @Test(arguments: [
        ("mon 09:00-12:00", true), ("sun 00:00-24:00", true), ("sat 9:00-12:00", false), ("fri 12:00-09:00", false),
        ("someday 09:00-10:00", false), ("tue 09:00", false), ("wed 09:60-10:00", false),
    ])
    func availabilitySlotsAreAWeekdayAndATimeRangeThatStartsBeforeItEnds(slot: String, valid: Bool) {
        #expect(RoleFacts.isAvailabilitySlot(slot) == valid)
    }

    @Test func calendarDaysAreRealDates() {
        #expect(CalendarDay("2024-02-29")?.description == "2024-02-29")
        #expect(CalendarDay("2023-02-29") == nil)
        #expect(CalendarDay("2024-13-01") == nil)
        #expect(CalendarDay("24-01-01") == nil)
        #expect(CalendarDay("2024-01-02")! > CalendarDay("2024-01-01")!)
    }

    @Test func organisationsAreEligibleToBidByKindStatusAndRegistration() throws {
        func organisation(_ kind: String, legalPerson: Bool, authority: String?) throws -> OrganisationFacts {
            try OrganisationFacts(id: UUID(), name: "Org", kind: kind, legalPerson: legalPerson, registrationAuthority: authority, registrationNumber: nil, servesPlace: "D1")
        }
        #expect(try organisation("foundation", legalPerson: true, authority: nil).eligibleBidder)
        #expect(try !organisation("foundation", legalPerson: false, authority: nil).eligibleBidder)
        #expect(try organisation("enterprise", legalPerson: true, authority: "市场监督管理局").eligibleBidder)
        #expect(try !organisation("owners-committee", legalPerson: true, authority: "x").eligibleBidder)
        #expect(try organisation("property-company", legalPerson: true, authority: "市场监督管理局").eligibleBidder)
        #expect(try !organisation("property-company", legalPerson: true, authority: nil).eligibleBidder)
        #expect(throws: InvalidRecord.self) { try organisation("club", legalPerson: true, authority: nil) }
    }
}
