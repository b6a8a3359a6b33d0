import Foundation

/// A mediator as routing sees them: where they sit and how many open cases they hold.
public struct MediatorLoad: Sendable, Hashable {
    public var id: UUID
    public var level: MediationLevel
    /// The community, street or district code of their committee.
    public var place: String
    public var active: Bool
    public var openCases: Int

    public init(id: UUID, level: MediationLevel, place: String, active: Bool = true, openCases: Int) {
        self.id = id
        self.level = level
        self.place = place
        self.active = active
        self.openCases = openCases
    }
}

/// Who gets a case: "disputes are not passed upward; they are solved on the spot, nearby" (004).
public enum Routing {
    /// The least-loaded active mediator of `place` at `level`; ties go to the smallest id, so the same
    /// state always routes the same way. `nil` when the place has nobody: the caller goes a level up.
    public static func mediator(level: MediationLevel, place: String, among mediators: [MediatorLoad]) -> UUID? {
        mediators
            .filter { $0.active && $0.level == level && $0.place == place }
            .min { ($0.openCases, $0.id.uuidString) < ($1.openCases, $1.id.uuidString) }?
            .id
    }
}
