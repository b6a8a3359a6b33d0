import Foundation
import Kafka

/// Reads typed settings from environment variables and collects every problem, so an operator sees
/// all that is wrong with a deployment at once instead of one variable per restart.
public struct EnvironmentReader {
    public let values: [String: String]
    public private(set) var problems: [ConfigurationProblem] = []

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public mutating func string(_ name: String, default fallback: String? = nil) -> String {
        if let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
        if let fallback { return fallback }
        problems.append(ConfigurationProblem(variable: name, problem: "is required"))
        return ""
    }

    public mutating func secret(_ name: String, minimumLength: Int) -> String {
        guard let value = values[name], !value.isEmpty else {
            problems.append(ConfigurationProblem(variable: name, problem: "is required (a secret of at least \(minimumLength) characters)"))
            return ""
        }
        if value.count < minimumLength {
            problems.append(ConfigurationProblem(variable: name, problem: "is too short: use at least \(minimumLength) characters"))
        }
        return value
    }

    public mutating func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard let text = values[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        guard let value = Int(text) else {
            problems.append(ConfigurationProblem(variable: name, problem: "must be a whole number, got '\(text)'"))
            return fallback
        }
        guard range.contains(value) else {
            problems.append(ConfigurationProblem(variable: name, problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"))
            return fallback
        }
        return value
    }

    public mutating func flag(_ name: String, default fallback: Bool) -> Bool {
        guard let text = values[name]?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append(ConfigurationProblem(variable: name, problem: "must be true or false, got '\(text)'"))
            return fallback
        }
    }

    public mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T where T.RawValue == String {
        guard let text = values[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        guard let value = T(rawValue: text.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            problems.append(ConfigurationProblem(variable: name, problem: "must be one of \(allowed), got '\(text)'"))
            return fallback
        }
        return value
    }

    public mutating func record(_ problem: ConfigurationProblem) {
        problems.append(problem)
    }
}

/// Every configuration problem found at start, printed as one message.
public struct ConfigurationErrors: Error, CustomStringConvertible {
    public var service: String
    public var problems: [ConfigurationProblem]

    public var description: String {
        "\(service) cannot start, its configuration is incomplete:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
