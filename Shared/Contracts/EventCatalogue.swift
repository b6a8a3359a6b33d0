/// Which record each event type carries on each topic: the one table the AsyncAPI document, the
/// district JSON Schemas and the operator tool are checked against.
///
/// Adding an event type means adding it to its family's `all` list and here; a test fails until both
/// agree, and another until `deploy/asyncapi.yaml` describes the record's properties.
public enum EventCatalogue {
    public struct Entry: Sendable {
        public var type: EventType
        public var payload: any (Codable & Sendable).Type
    }

    public static var entries: [Topic: [Entry]] {
        [
            .registryEvents: [
                Entry(type: PlaceRegistered.eventType, payload: PlaceRegistered.self),
                Entry(type: PlaceUpdated.eventType, payload: PlaceUpdated.self),
                Entry(type: HouseholdRegistered.eventType, payload: HouseholdRegistered.self),
                Entry(type: HouseholdUpdated.eventType, payload: HouseholdUpdated.self),
                Entry(type: HouseholdMoved.eventType, payload: HouseholdMoved.self),
                Entry(type: ResidentRegistered.eventType, payload: ResidentRegistered.self),
                Entry(type: ResidentUpdated.eventType, payload: ResidentUpdated.self),
                Entry(type: ResidentMoved.eventType, payload: ResidentMoved.self),
                Entry(type: OrganisationRegistered.eventType, payload: OrganisationRegistered.self),
                Entry(type: OrganisationUpdated.eventType, payload: OrganisationUpdated.self),
                Entry(type: RoleAssigned.eventType, payload: RoleAssigned.self),
                Entry(type: RoleUpdated.eventType, payload: RoleUpdated.self),
                Entry(type: RoleEnded.eventType, payload: RoleEnded.self),
            ],
            .mediationEvents: MediationEventTypes.all.map { Entry(type: $0, payload: CaseTransitioned.self) },
            .volunteerEvents: [
                (VolunteerEventTypes.needOpened, NeedChanged.self), (VolunteerEventTypes.needFilled, NeedChanged.self),
                (VolunteerEventTypes.needReopened, NeedChanged.self), (VolunteerEventTypes.needCancelled, NeedChanged.self),
                (VolunteerEventTypes.offerMade, OfferChanged.self), (VolunteerEventTypes.offerDeclined, OfferChanged.self),
                (VolunteerEventTypes.offerExpired, OfferChanged.self), (VolunteerEventTypes.offerWithdrawn, OfferChanged.self),
                (VolunteerEventTypes.assignmentConfirmed, AssignmentChanged.self),
                (VolunteerEventTypes.assignmentCancelled, AssignmentChanged.self),
                (VolunteerEventTypes.serviceCompleted, ServiceRecorded.self), (VolunteerEventTypes.serviceVerified, ServiceRecorded.self),
                (VolunteerEventTypes.absenceRecorded, AbsenceRecorded.self), (VolunteerEventTypes.noShow, AbsenceRecorded.self),
                (VolunteerEventTypes.reminderDue, ReminderDue.self),
            ].map { (type: EventType, payload: any (Codable & Sendable).Type) in Entry(type: type, payload: payload) },
            .biddingEvents: [
                (BiddingEventTypes.published, TenderTransitioned.self), (BiddingEventTypes.changed, TenderTransitioned.self),
                (BiddingEventTypes.bidSubmitted, BidSubmitted.self), (BiddingEventTypes.closed, BiddingClosed.self),
                (BiddingEventTypes.panelDrawn, PanelDrawn.self), (BiddingEventTypes.awarded, TenderAwarded.self),
                (BiddingEventTypes.milestoneAccepted, MilestoneAccepted.self), (BiddingEventTypes.paymentReleased, PaymentReleased.self),
                (BiddingEventTypes.performanceEvaluated, PerformanceEvaluated.self),
            ].map { (type: EventType, payload: any (Codable & Sendable).Type) in Entry(type: type, payload: payload) },
            .districtInbound: [
                (DistrictInbound.householdRegistered, DistrictHousehold.self), (DistrictInbound.householdUpdated, DistrictHousehold.self),
                (DistrictInbound.residentRegistered, DistrictResident.self), (DistrictInbound.residentUpdated, DistrictResident.self),
                (DistrictInbound.organisationRegistered, DistrictOrganisation.self),
                (DistrictInbound.organisationUpdated, DistrictOrganisation.self),
                (DistrictInbound.roleAssigned, DistrictRole.self), (DistrictInbound.roleEnded, DistrictRoleEnd.self),
                (DistrictInbound.disputeReported, DistrictDispute.self), (DistrictInbound.serviceNeedReported, DistrictServiceNeed.self),
            ].map { (type: EventType, payload: any (Codable & Sendable).Type) in Entry(type: type, payload: payload) },
        ]
    }

    /// The record type of a district event type, for validating a district's file before publishing.
    public static func districtRecord(of type: EventType) -> (any (Codable & Sendable).Type)? {
        entries[.districtInbound]?.first { $0.type == type }?.payload
    }
}
