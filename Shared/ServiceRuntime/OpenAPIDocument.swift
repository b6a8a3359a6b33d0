import Foundation

/// The OpenAPI 3.1 document each service serves at `/openapi.json`: the shared operational routes, plus
/// the service's own paths (a JSON object of path items) merged in.
public enum OpenAPIDocument {
    public static func document(
        service: String, summary: String, version: String = "1.0.0", paths: [String: Any] = [:], schemas: [String: Any] = [:]
    ) -> String {
        var allPaths = sharedPaths
        for (path, item) in paths { allPaths[path] = item }
        var allSchemas = sharedSchemas
        for (name, schema) in schemas { allSchemas[name] = schema }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "\(service) API", "version": version, "description": summary],
            "servers": [["url": "/"]],
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "schemas": allSchemas,
            ],
            "paths": allPaths,
        ]
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static var sharedSchemas: [String: Any] { [
        "Problem": [
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": [
                "type": ["type": "string", "format": "uri"], "title": ["type": "string"],
                "status": ["type": "integer"], "detail": ["type": "string"], "instance": ["type": "string"],
                "errors": ["type": "array", "items": [
                    "type": "object", "properties": ["field": ["type": "string"], "problem": ["type": "string"]],
                ]],
            ],
        ],
        "Readiness": [
            "type": "object",
            "required": ["status", "checks"],
            "properties": [
                "status": ["type": "string", "enum": ["live", "ready", "degraded", "not-ready"]],
                "checks": ["type": "object", "additionalProperties": ["type": "string", "enum": ["up", "down", "degraded"]]],
                "stalled": ["type": "array", "description": "consumer partitions that hold records and have not moved for CONSUMER_STALL_SECONDS", "items": [
                    "type": "object", "required": ["group", "topic", "partition", "offset", "stalledSeconds", "waitingRecords"],
                    "properties": [
                        "group": ["type": "string"], "topic": ["type": "string"], "partition": ["type": "integer"],
                        "offset": ["type": "integer", "description": "the first record not applied yet"],
                        "stalledSeconds": ["type": "integer"], "waitingRecords": ["type": "integer"],
                        "kind": ["type": "string", "enum": ["transient", "poison"], "description": "of the last failed try; absent when none failed"],
                        "lastError": ["type": "string"],
                    ],
                ]],
            ],
        ],
        "ParkedRecord": [
            "type": "object",
            "required": ["topic", "partition", "offset", "reason", "parkedBy", "parkedAt"],
            "properties": [
                "topic": ["type": "string"], "partition": ["type": "integer"], "offset": ["type": "integer"],
                "group": ["type": "string", "description": "only this consumer group; absent for every group of the service"],
                "reason": ["type": "string"], "parkedBy": ["type": "string"], "parkedAt": ["type": "string", "format": "date-time"],
                "deadLetteredAt": ["type": "string", "format": "date-time", "description": "when a consumer met it and dead-lettered it as `parked`"],
            ],
        ],
        "ParkRequest": [
            "type": "object",
            "required": ["topic", "partition", "offset", "reason"],
            "properties": [
                "topic": ["type": "string", "description": "a topic this service consumes"],
                "partition": ["type": "integer", "minimum": 0, "maximum": 2147483647], "offset": ["type": "integer", "minimum": 0],
                "group": ["type": "string", "description": "one of the service's consumer groups; leave out for all"],
                "reason": ["type": "string", "minLength": 1, "maxLength": 1000, "description": "why; kept with the operator's name"],
            ],
        ],
    ] }

    static func problemResponse(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]]]
    }

    static var sharedPaths: [String: Any] { [
        "/health/live": ["get": [
            "summary": "The process is up", "operationId": "live",
            "responses": ["200": ["description": "live", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Readiness"]]]]],
        ]],
        "/health/ready": ["get": [
            "summary": "PostgreSQL and Kafka answer", "operationId": "ready",
            "responses": [
                "200": ["description": "ready", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Readiness"]]]],
                "503": ["description": "a dependency is down", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Readiness"]]]],
            ],
        ]],
        "/metrics": ["get": [
            "summary": "Prometheus metrics", "operationId": "metrics",
            "responses": ["200": ["description": "text exposition format", "content": ["text/plain": ["schema": ["type": "string"]]]]],
        ]],
        "/openapi.json": ["get": [
            "summary": "This document", "operationId": "openapi",
            "responses": ["200": ["description": "OpenAPI 3.1", "content": ["application/json": ["schema": ["type": "object"]]]]],
        ]],
        "/api/v1/operations/parked-records": [
            "post": [
                "summary": "Set a record aside: the consumer that meets it dead-letters it as `parked` (city-admin, city scope)",
                "operationId": "parkRecord", "security": [["bearer": []]],
                "requestBody": ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/ParkRequest"]]]],
                "responses": [
                    "201": ["description": "parked (or parked already: the first entry)", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/ParkedRecord"]]]],
                    "400": problemResponse("the body does not fit, or names a topic or group this service does not consume"),
                    "401": problemResponse("missing, malformed or expired token"),
                    "403": problemResponse("not a city-wide city-admin token"),
                ],
            ],
            "get": [
                "summary": "The records operators parked, newest first (city-admin, auditor)", "operationId": "listParkedRecords",
                "security": [["bearer": []]],
                "responses": [
                    "200": ["description": "parked records", "content": ["application/json": ["schema": [
                        "type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ["$ref": "#/components/schemas/ParkedRecord"]]],
                    ]]]],
                    "401": problemResponse("missing, malformed or expired token"),
                    "403": problemResponse("neither city-admin nor auditor"),
                ],
            ],
        ],
        "/api/v1/me": ["get": [
            "summary": "What the bearer token grants", "operationId": "me", "security": [["bearer": []]],
            "responses": [
                "200": ["description": "the caller", "content": ["application/json": ["schema": [
                    "type": "object", "required": ["subject", "role", "scope"],
                    "properties": ["subject": ["type": "string"], "role": ["type": "string"], "scope": ["type": "string"], "name": ["type": "string"]],
                ]]]],
                "401": problemResponse("missing, malformed or expired token"),
            ],
        ]],
    ] }
}

/// Small builders for a service's OpenAPI paths and schemas. A service's document type adopts this
/// and names its own problem descriptions per status code.
public protocol OpenAPIBuilding {
    /// What each problem status means for this service's routes.
    static var problemTexts: [String: String] { get }
}

extension OpenAPIBuilding {
    public static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
    public static func string(_ description: String? = nil, format: String? = nil, values: [String]? = nil) -> [String: Any] {
        var schema: [String: Any] = ["type": "string"]
        if let description { schema["description"] = description }
        if let format { schema["format"] = format }
        if let values { schema["enum"] = values }
        return schema
    }
    public static func array(_ items: [String: Any]) -> [String: Any] { ["type": "array", "items": items] }
    public static func object(_ properties: [String: Any], required: [String] = []) -> [String: Any] {
        ["type": "object", "properties": properties, "required": required]
    }
    public static func page(_ item: String) -> [String: Any] {
        object(["items": array(ref(item)), "nextCursor": ["type": ["string", "null"], "description": "pass as `cursor` for the next page"]], required: ["items"])
    }
    public static func items(_ item: String) -> [String: Any] { object(["items": array(ref(item))], required: ["items"]) }

    public static func query(_ name: String, _ description: String) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": ["type": "string"], "description": description]
    }
    public static func pathParameter(_ name: String) -> [String: Any] {
        ["name": name, "in": "path", "required": true, "schema": ["type": "string"]]
    }
    public static var pageParameters: [[String: Any]] { [query("cursor", "from the previous page's nextCursor"), query("limit", "1 to 500, default 50")] }
    public static var idempotencyKey: [String: Any] { [
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": ["type": "string"],
        "description": "a retry with the same key and body returns the first answer",
    ] }

    public static func problems(_ codes: [String]) -> [String: Any] {
        var responses: [String: Any] = [:]
        for code in codes {
            responses[code] = ["description": problemTexts[code] ?? code, "content": ["application/problem+json": ["schema": ref("Problem")]]]
        }
        return responses
    }

    public static func operation(
        _ summary: String, id: String, parameters: [[String: Any]] = [], body: String? = nil, status: String = "200", response: [String: Any],
        errors: [String] = ["400", "401", "403"]
    ) -> [String: Any] {
        var operation: [String: Any] = [
            "summary": summary, "operationId": id, "security": [["bearer": []]], "parameters": parameters,
            "responses": problems(errors).merging([status: ["description": "done", "content": ["application/json": ["schema": response]]]]) { a, _ in a },
        ]
        if let body { operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(body)]]] }
        return operation
    }
}
