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
            "properties": ["status": ["type": "string"], "checks": ["type": "object", "additionalProperties": ["type": "string"]]],
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
