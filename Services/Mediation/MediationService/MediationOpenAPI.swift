import MediationCore
import ServiceRuntime

/// The mediation routes as OpenAPI 3.1 (served at `/openapi.json`; a test checks it against the router).
enum MediationOpenAPI {
    static var document: String {
        OpenAPIDocument.document(
            service: MediationService.name,
            summary: """
                People's mediation: dispute cases, their deadlines, routing and escalation. A reported case is accepted and routed \
                to the least-loaded active mediator of its community (else the street, then the district). Every transition is \
                recorded. Deadlines come from the deadline rules; the watcher escalates overdue cases one level.
                """,
            paths: paths, schemas: schemas)
    }

    static func operation(_ summary: String, id: String, parameters: [[String: Any]] = [], body: String? = nil, status: String = "200", response: [String: Any]) -> [String: Any] {
        var operation: [String: Any] = [
            "summary": summary, "operationId": id, "security": [["bearer": []]], "parameters": parameters,
            "responses": [
                status: ["description": "done", "content": ["application/json": ["schema": response]]],
                "400": problem("invalid input, with `errors` per field"), "401": problem("missing or bad token"),
                "403": problem("role or scope does not allow it"), "404": problem("no such case, or outside the caller's scope"),
                "409": problem("the action is not possible in the case's state (illegal transition)"),
                "422": problem("unknown grid or mediator, or a matter before a court or the police"),
            ],
        ]
        if let body { operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(body)"]]]] }
        return operation
    }

    static func problem(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]]]
    }

    static func query(_ name: String, _ description: String, schema: [String: Any] = ["type": "string"]) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": schema, "description": description]
    }

    static func values(_ values: [String]) -> [String: Any] { ["type": "string", "enum": values] }

    static var paths: [String: Any] {
        let ref: (String) -> [String: Any] = { ["$ref": "#/components/schemas/\($0)"] }
        let id: [String: Any] = ["name": "id", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]
        return [
            "/api/v1/cases": [
                "post": operation(
                    "Report a dispute (accepted and routed at once)", id: "reportCase",
                    parameters: [["name": "Idempotency-Key", "in": "header", "required": false, "schema": ["type": "string"]]], body: "CaseIntake",
                    status: "201", response: ref("Case")),
                "get": operation(
                    "List cases in the caller's scope", id: "listCases",
                    parameters: [
                        query("cursor", "from nextCursor"), query("limit", "1 to 500", schema: ["type": "integer", "minimum": 1, "maximum": 500]), query("district", "district code"), query("street", "street code"),
                        query("community", "community code"), query("status", "case status", schema: values(CaseStatus.allCases.map(\.rawValue))), query("level", "community, street or district", schema: values(MediationLevel.allCases.map(\.rawValue))),
                        query("mediator", "mediator role id", schema: ["type": "string", "format": "uuid"]),
                    ],
                    response: ["type": "object", "properties": ["items": ["type": "array", "items": ref("Case")], "nextCursor": ["type": ["string", "null"]]]]),
            ],
            "/api/v1/cases/{id}": [
                "get": operation("A case with its parties and every transition", id: "getCase", parameters: [id], response: ref("CaseDetail")),
                "patch": operation("Change the category or grid (routing runs again; recorded)", id: "reclassifyCase", parameters: [id], body: "Reclassification", response: ref("Case")),
            ],
            "/api/v1/cases/{id}/transitions": [
                "post": operation("Apply an action to a case", id: "transitionCase", parameters: [id], body: "Transition", response: ref("Case"))
            ],
            "/api/v1/cases/{id}/meetings": [
                "post": operation("Schedule an evaluation, coordination or hearing meeting", id: "scheduleMeeting", parameters: [id], body: "MeetingRequest", status: "201", response: ref("Meeting"))
            ],
            "/api/v1/cases/{id}/meetings/{meeting}/minutes": [
                "post": operation(
                    "Record a meeting's minutes (marks it held)", id: "recordMinutes",
                    parameters: [id, ["name": "meeting", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]], body: "Minutes",
                    response: ref("Meeting"))
            ],
            "/api/v1/statistics": [
                "get": operation(
                    "Cases by status, resolution and on-time rates, median time to agreement, escalations, per place", id: "statistics",
                    parameters: [query("level", "community (default), street or district", schema: values(MediationLevel.allCases.map(\.rawValue))), query("district", "district code"), query("street", "street code"), query("community", "community code")],
                    response: ["type": "object", "properties": ["items": ["type": "array", "items": ref("PlaceStatistics")]]])
            ],
            "/api/v1/deadline-rules": [
                "get": operation(
                    "The deadline rules per category, severity and level", id: "deadlineRules",
                    response: ["type": "object", "properties": ["items": ["type": "array", "items": ref("DeadlineRule")]]]),
                "put": operation("Change one deadline rule (city admins)", id: "setDeadlineRule", body: "DeadlineRule", response: ref("DeadlineRule")),
            ],
        ]
    }

    static var schemas: [String: Any] {
        let string: [String: Any] = ["type": "string"]
        let uuid: [String: Any] = ["type": "string", "format": "uuid"]
        return [
            "CaseIntake": [
                "type": "object", "required": ["grid", "category", "severity", "channel", "description", "parties"],
                "properties": [
                    "id": uuid, "grid": string, "description": string,
                    "category": ["type": "string", "enum": ["neighbours", "family", "property-management", "demolition-relocation", "labour", "environment", "public-order", "other"]],
                    "severity": ["type": "string", "enum": ["minor", "major"]],
                    "channel": ["type": "string", "enum": ["grid-worker", "resident", "hotline", "online", "district-system"]],
                    "specialNeeds": ["type": "array", "items": string],
                    "parties": ["type": "array", "items": ["type": "object", "required": ["name"], "properties": ["residentId": uuid, "organisationId": uuid, "name": string, "contact": string]]],
                    "alreadyBefore": ["type": "string", "enum": ["court", "police"]],
                ],
            ],
            "Case": [
                "type": "object",
                "properties": [
                    "id": uuid, "category": string, "severity": string, "channel": string, "status": string, "level": string, "heldBy": string,
                    "location": ["type": "object"], "mediatorId": uuid, "reportedAt": ["type": "string", "format": "date-time"],
                    "deadlineAt": ["type": "string", "format": "date-time"], "specialNeeds": ["type": "array", "items": string],
                ],
            ],
            "CaseDetail": [
                "type": "object",
                "properties": [
                    "case": ["$ref": "#/components/schemas/Case"], "description": string, "agreement": string,
                    "parties": ["type": "array", "items": ["type": "object"]], "transitions": ["type": "array", "items": ["type": "object"]],
                ],
            ],
            "MeetingRequest": [
                "type": "object", "required": ["kind", "scheduledAt", "place", "participants"],
                "properties": [
                    "kind": ["type": "string", "enum": ["evaluation", "coordination", "hearing"]], "scheduledAt": ["type": "string", "format": "date-time"],
                    "place": string, "participants": ["type": "array", "items": ["type": "object", "properties": ["name": string, "role": string]]],
                ],
            ],
            "Meeting": [
                "type": "object",
                "properties": [
                    "id": uuid, "kind": string, "scheduledAt": ["type": "string", "format": "date-time"], "place": string,
                    "participants": ["type": "array", "items": ["type": "object"]], "minutes": string, "heldAt": ["type": "string", "format": "date-time"],
                ],
            ],
            "PlaceStatistics": [
                "type": "object",
                "properties": [
                    "place": string, "cases": ["type": "integer"], "open": ["type": "integer"], "byStatus": ["type": "object", "additionalProperties": ["type": "integer"]],
                    "finished": ["type": "integer"], "resolved": ["type": "integer"], "resolutionRate": ["type": ["number", "null"]],
                    "onTimeRate": ["type": ["number", "null"]], "medianHoursToAgreement": ["type": ["number", "null"]], "escalations": ["type": "integer"],
                    "deadlinesMissed": ["type": "integer"],
                ],
            ],
            "Minutes": ["type": "object", "required": ["minutes"], "properties": ["minutes": string]],
            "Reclassification": [
                "type": "object", "required": ["reason"], "properties": ["category": string, "grid": string, "reason": string],
            ],
            "Transition": [
                "type": "object", "required": ["action"],
                "properties": [
                    "action": ["type": "string", "enum": ["accept", "refuse", "assign", "start-mediation", "reach-agreement", "fail", "refer-to-legal", "withdraw", "escalate", "transfer", "follow-up", "close", "reopen"]],
                    "reason": string, "mediatorId": uuid, "document": string, "holds": ["type": "boolean"], "note": string, "toCommunity": string, "toBody": string,
                ],
            ],
            "DeadlineRule": [
                "type": "object", "required": ["category", "severity", "level", "kind", "hours", "lateAfterHour"],
                "properties": [
                    "category": values(DisputeCategory.allCases.map(\.rawValue)), "severity": values(Severity.allCases.map(\.rawValue)),
                    "level": values(MediationLevel.allCases.map(\.rawValue)), "kind": ["type": "string", "enum": ["same-day", "within"]],
                    "hours": ["type": "integer", "minimum": 1, "maximum": 24 * 90], "lateAfterHour": ["type": "integer", "minimum": 0, "maximum": 24],
                ],
            ],
        ]
    }
}
