import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceRuntime
import Testing

/// Requests that HTTP fuzzing (`scripts/fuzz-http.sh`) once answered with a 5xx. Each is driven
/// through the service's router and must get a clear 4xx problem that writes nothing.
extension IntegrationSuite {
    @Suite struct HTTPFuzzFindings {
        /// `PUT /api/v1/deadline-rules` with `kind: within` and `lateAfterHour: 25` passed the
        /// checks (the hour was only checked for same-day rules) and broke the table's CHECK: 500.
        @Test func aWithinDeadlineRuleWithAnHourOutside0To24IsRefusedAndTheRuleKept() async throws {
            try await MediationHarness.run { mediation in
                let admin = try await mediation.token(.cityAdmin)
                let before = try await mediation.count(
                    "SELECT late_after_hour::bigint FROM deadline_rule WHERE category = 'neighbours' AND severity = 'major' AND level = 'community'")
                for hour in [25, -1, 1_000_000] {
                    let reply = try await mediation.call(
                        .put, "/api/v1/deadline-rules", token: admin,
                        body: ["category": "neighbours", "severity": "major", "level": "community", "kind": "within", "hours": 48, "lateAfterHour": hour])
                    #expect(reply.status == .badRequest, "lateAfterHour \(hour): \(reply.body)")
                    #expect(reply.fieldsWithProblems == ["rule"], "\(reply.body)")
                }
                #expect(
                    try await mediation.count(
                        "SELECT late_after_hour::bigint FROM deadline_rule WHERE category = 'neighbours' AND severity = 'major' AND level = 'community'")
                        == before)
                let kept = try await mediation.call(
                    .put, "/api/v1/deadline-rules", token: admin,
                    body: ["category": "neighbours", "severity": "major", "level": "community", "kind": "within", "hours": 48, "lateAfterHour": 24])
                #expect(kept.status == .ok, "\(kept.body)")
            }
        }
    }
}
