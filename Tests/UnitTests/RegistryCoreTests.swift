import Foundation
import RegistryCore
import Testing

@Suite struct NationalIDNumbers {
    /// Builds a valid number from 17 digits by computing its check character.
    static func valid(_ seventeen: String) -> String {
        seventeen + String(NationalID.checkCharacter(for: seventeen.compactMap(\.wholeNumberValue)))
    }

    @Test func theStandardsWorkedExampleIsValid() throws {
        // GB 11643-1999's example: 11010519491231002X.
        let id = try NationalID("11010519491231002x")
        #expect(id.value == "11010519491231002X")
        #expect(id.masked == "110105********002X")
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
