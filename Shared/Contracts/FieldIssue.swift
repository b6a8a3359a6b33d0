/// One thing wrong with one field of a record or request, said so that the sender can fix it. The
/// registry's and bidding's rules, and the district-file checks, all report in this shape.
public struct FieldIssue: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(_ field: String, _ problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}
