import Contracts
import Foundation
import Messaging
import RegistryCore
import ServiceRuntime

/// Why the registry refused a change. The HTTP layer answers with the problem, the district ingress
/// dead-letters the event with the reason; either way nothing was written.
public enum RegistryError: Error, ProblemConvertible, CustomStringConvertible, Sendable {
    case invalid([FieldIssue])
    /// A record names a place, household, resident or organisation the registry does not have.
    case unknownReference(field: String, kind: String, id: String)
    case notFound(kind: String, id: String)
    /// The caller's scope (or the district that sent the event) does not include the place touched.
    case outOfScope(scope: String, kind: String, id: String, place: String)
    case forbidden(String)
    case alreadyExists(kind: String, id: String)
    /// The national ID is registered to another resident already.
    case duplicateNationalID(field: String, existingResident: UUID)
    case conflict(String)

    public var description: String {
        switch self {
        case .invalid(let issues): issues.map(\.description).joined(separator: "; ")
        case .unknownReference(let field, let kind, let id): "\(field) names \(kind) \(id), which the registry does not have"
        case .notFound(let kind, let id): "no \(kind) \(id)"
        case .outOfScope(let scope, let kind, let id, let place):
            "\(kind) \(id) is in \(place), outside \(scope)"
        case .forbidden(let reason): reason
        case .alreadyExists(let kind, let id): "\(kind) \(id) exists already"
        case .duplicateNationalID(let field, let existing): "\(field) is registered to resident \(existing) already"
        case .conflict(let reason): reason
        }
    }

    public var problem: ProblemDetails {
        switch self {
        case .invalid(let issues):
            .badRequest(
                "The record breaks \(issues.count) rule\(issues.count == 1 ? "" : "s"); see errors.",
                errors: issues.map { .init(field: $0.field, problem: $0.problem) })
        case .unknownReference(let field, _, _):
            .unknownReference(description.prefix(1).uppercased() + description.dropFirst() + ".", errors: [.init(field: field, problem: "does not exist")])
        case .notFound: .notFound("There is \(description), or it is outside your scope.")
        case .outOfScope: .forbidden("Not allowed: \(description).")
        case .forbidden(let reason): .forbidden(reason)
        case .alreadyExists: .conflict("The \(description); read it, or update it with PATCH.")
        case .duplicateNationalID(let field, _):
            .conflict("The national ID number is registered to another resident already.", errors: [.init(field: field, problem: "duplicate")])
        case .conflict(let reason): .conflict(reason)
        }
    }

    /// The reason a district event carrying this error is dead-lettered with.
    public var deadLetterReason: DeadLetterReason {
        let kind =
            switch self {
            case .invalid: "invalid"
            case .unknownReference, .notFound: "unknown_reference"
            case .outOfScope, .forbidden: "out_of_scope"
            case .alreadyExists, .duplicateNationalID, .conflict: "conflict"
            }
        return DeadLetterReason(kind: kind, detail: description)
    }
}

extension InvalidRecord {
    var registryError: RegistryError { .invalid(issues) }
}

/// Runs a check that may throw `InvalidRecord` and rethrows it as `RegistryError.invalid`.
func validated<T>(_ make: () throws(InvalidRecord) -> T) throws(RegistryError) -> T {
    do {
        return try make()
    } catch {
        throw error.registryError
    }
}
