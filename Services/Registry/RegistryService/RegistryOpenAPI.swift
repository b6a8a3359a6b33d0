import RegistryCore
import ServiceRuntime

/// The registry's routes as OpenAPI 3.1 (served at `/openapi.json`; a test checks it against the router).
enum RegistryOpenAPI: OpenAPIBuilding {
    static var document: String {
        OpenAPIDocument.document(
            service: RegistryService.name,
            summary: """
                The city's places, people and organisations: the single source of truth the other services learn from. \
                Lists use cursor pagination (`cursor`, `limit` ≤ 500) and are limited to the caller's scope. POSTs that create \
                honour `Idempotency-Key`. Any write may carry `X-On-Behalf-Of: <resident id>` (staff acting for a resident, \
                recorded in the audit log). Sensitive-group membership is shown only with `include=sensitive` and an \
                `X-Access-Reason`, to roles that need it, and every such read is logged.
                """,
            paths: paths, schemas: schemas)
    }

    static let problemTexts = [
        "400": "invalid input, with `errors` per field", "401": "missing or bad token", "403": "role or scope does not allow it",
        "404": "not found, or outside the caller's scope", "409": "exists already, duplicate national ID, or state conflict",
        "422": "names something that does not exist, or an Idempotency-Key reused",
    ]
    /// A query parameter with its type, so generated requests reach the handler rather than its parsing.
    static func query(_ name: String, _ description: String, schema: [String: Any]) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": schema, "description": description]
    }
    static var pageParameters: [[String: Any]] {
        [query("cursor", "from the previous page's nextCursor"), query("limit", "1 to 500, default 50", schema: ["type": "integer", "minimum": 1, "maximum": 500])]
    }
    /// The levels a place can be drawn at (a household is not a place).
    static let placeLevels = ["district", "street", "community", "grid", "building"]
    /// `{id}` of a household, resident, organisation or role.
    static var idParameter: [String: Any] { ["name": "id", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]] }
    static var placeParameters: [[String: Any]] { [query("district", "district code"), query("street", "street code"), query("community", "community code")] }
    static var onBehalf: [String: Any] { [
        "name": "X-On-Behalf-Of", "in": "header", "required": false, "schema": ["type": "string", "format": "uuid"],
        "description": "the resident the caller acts for (recorded in the audit log)",
    ] }

    static var paths: [String: Any] {
        let write = ["400", "401", "403", "404", "409", "422"]
        return [
            "/api/v1/places": [
                "post": operation("Draw a district, street, community, grid or building", id: "createPlace", parameters: [idempotencyKey, onBehalf], body: "PlaceInput", status: "201", response: ref("Place"), errors: write),
                "get": operation("List places", id: "listPlaces", parameters: pageParameters + placeParameters + [query("level", "district, street, community, grid, building", schema: string(values: placeLevels)), query("parent", "parent code")], response: page("Place")),
            ],
            "/api/v1/places/{code}": [
                "get": operation("Read a place", id: "getPlace", parameters: [pathParameter("code")], response: ref("Place"), errors: ["401", "403", "404"]),
                "patch": operation("Rename, retype or redraw a place (a new parent or boundary makes a new version)", id: "updatePlace", parameters: [pathParameter("code"), onBehalf], body: "PlaceChange", response: ref("Place"), errors: write),
            ],
            "/api/v1/places/{code}/versions": [
                "get": operation("Every version of a place, as it was drawn", id: "placeVersions", parameters: [pathParameter("code")], response: items("PlaceVersion"), errors: ["401", "403", "404"]),
            ],
            "/api/v1/households": [
                "post": operation("Register a household in a building", id: "createHousehold", parameters: [idempotencyKey, onBehalf], body: "HouseholdInput", status: "201", response: ref("Household"), errors: write),
                "get": operation("List households", id: "listHouseholds", parameters: pageParameters + placeParameters + [query("grid", "grid code"), query("building", "building code")], response: page("Household")),
            ],
            "/api/v1/households/{id}": [
                "get": operation("Read a household, its resident count and its moves", id: "getHousehold", parameters: [idParameter], response: ref("HouseholdDetail"), errors: ["400", "401", "403", "404"]),
                "patch": operation("Correct a household's address", id: "updateHousehold", parameters: [idParameter, onBehalf], body: "HouseholdPatch", response: ref("Household"), errors: write),
            ],
            "/api/v1/households/{id}/moves": [
                "post": operation("Move a household to another building (history kept; residents move with it)", id: "moveHousehold", parameters: [idParameter, onBehalf], body: "HouseholdMove", response: ref("Household"), errors: write),
            ],
            "/api/v1/residents": [
                "post": operation("Register a resident (registered or floating)", id: "createResident", parameters: [idempotencyKey, onBehalf], body: "ResidentInput", status: "201", response: ref("Resident"), errors: write),
                "get": operation(
                    "List or search residents in the caller's scope", id: "listResidents",
                    parameters: pageParameters + placeParameters + [
                        query("grid", "grid code"), query("household", "household id", schema: string(format: "uuid")), query("group", "population group; a sensitive one needs a permitted role and X-Access-Reason, and is logged", schema: string(values: PopulationGroup.allCases.map(\.rawValue))),
                        query("role", "holds this role now"), query("residency", "registered or floating", schema: string(values: ["registered", "floating"])), query("name", "name starts with"),
                    ], response: page("Resident")),
            ],
            "/api/v1/residents/{id}": [
                "get": operation(
                    "Read a resident and their moves", id: "getResident",
                    parameters: [idParameter, query("include", "`sensitive` to see sensitive groups (permitted roles, X-Access-Reason, logged)", schema: string(values: ["sensitive"]))],
                    response: ref("Resident"), errors: ["400", "401", "403", "404"]),
                "patch": operation("Correct a resident's record", id: "updateResident", parameters: [idParameter, onBehalf], body: "ResidentPatch", response: ref("Resident"), errors: write),
            ],
            "/api/v1/residents/{id}/moves": [
                "post": operation("Move a resident to another household (history kept)", id: "moveResident", parameters: [idParameter, onBehalf], body: "ResidentMove", response: ref("Resident"), errors: write),
            ],
            "/api/v1/organisations": [
                "post": operation("Register an organisation", id: "createOrganisation", parameters: [idempotencyKey, onBehalf], body: "OrganisationInput", status: "201", response: ref("OrganisationView"), errors: write),
                "get": operation("List organisations", id: "listOrganisations", parameters: pageParameters + placeParameters + [query("kind", "organisation kind"), query("eligibleBidder", "true or false", schema: ["type": "boolean"])], response: page("OrganisationView")),
            ],
            "/api/v1/organisations/{id}": [
                "get": operation("Read an organisation", id: "getOrganisation", parameters: [idParameter], response: ref("OrganisationView"), errors: ["400", "401", "403", "404"]),
                "patch": operation("Update an organisation", id: "updateOrganisation", parameters: [idParameter, onBehalf], body: "OrganisationPatch", response: ref("OrganisationView"), errors: write),
            ],
            "/api/v1/roles": [
                "post": operation("Assign a role to a resident", id: "assignRole", parameters: [idempotencyKey, onBehalf], body: "RoleInput", status: "201", response: ref("Role"), errors: write),
                "get": operation(
                    "List roles", id: "listRoles",
                    parameters: pageParameters + placeParameters + [
                        query("grid", "grid code"), query("role", "role name"), query("resident", "resident id", schema: string(format: "uuid")), query("active", "true or false", schema: ["type": "boolean"]),
                        query("skill", "volunteers with this skill"), query("field", "experts in this field"),
                    ], response: page("Role")),
            ],
            "/api/v1/roles/{id}": [
                "get": operation("Read a role", id: "getRole", parameters: [idParameter], response: ref("Role"), errors: ["400", "401", "403", "404"]),
                "patch": operation("Change a role's place or details", id: "updateRole", parameters: [idParameter, onBehalf], body: "RolePatch", response: ref("Role"), errors: write),
            ],
            "/api/v1/roles/{id}/end": [
                "post": operation("End a role", id: "endRole", parameters: [idParameter, onBehalf], body: "RoleEnd", response: ref("Role"), errors: write),
            ],
            "/api/v1/reports/size-policy": [
                "get": operation(
                    "Communities (1,000-3,000 households) and grids (300-500) outside policy", id: "sizeReport",
                    parameters: placeParameters + [query("level", "community or grid", schema: string(values: ["community", "grid"]))], response: items("SizeFinding")),
            ],
            "/api/v1/audit-log": [
                "get": operation(
                    "Who read sensitive data and who acted for whom (read-only)", id: "auditLog",
                    parameters: pageParameters + [query("resident", "resident id", schema: string(format: "uuid")), query("actor", "token subject"), query("action", "audit action", schema: string(values: AuditAction.allCases.map(\.rawValue)))],
                    response: page("AuditRecord")),
            ],
        ]
    }

    static var schemas: [String: Any] {
        // What `PlaceCode` accepts: ASCII letters, digits and dashes, starting with a letter or digit.
        let code: [String: Any] = ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"]
        let location = object(
            [
                "district": string(), "street": string(), "community": string(), "grid": string(),
                "gridVersion": ["type": "integer", "description": "the grid as drawn when the record was placed"], "building": string(),
            ], required: ["district"])
        let roleDetails = object([
            "mediatorLevel": string(values: ["community", "street", "district"]), "fullTime": ["type": "boolean"],
            "skills": array(string()), "availability": array(string("e.g. `mon 09:00-12:00`")), "fields": array(string()),
            "affiliations": array(string(format: "uuid")),
        ])
        let floating = object(
            [
                "origin": string("where the resident is registered (户籍地)"), "arrivedOn": string(format: "date"), "permitNumber": string(),
                "permitExpiresOn": string(format: "date"), "purpose": string(),
            ], required: ["origin", "arrivedOn"])
        let place: [String: Any] = [
            "code": code, "level": string(values: placeLevels), "name": string(),
            "parentCode": code, "communityType": string(values: CommunityType.allCases.map(\.rawValue)),
            "workstation": string(), "boundary": string(), "address": string(),
        ]
        let household = object(["id": string(format: "uuid"), "address": string(), "location": ref("Location")], required: ["id", "address", "location"])
        let move = object([
            "from": ref("Location"), "to": ref("Location"), "fromHouseholdId": string(format: "uuid"), "toHouseholdId": string(format: "uuid"),
            "movedAt": string(format: "date-time"), "recordedBy": string(), "reason": string(),
        ])
        let residentInput: [String: Any] = [
            "id": string(format: "uuid"), "householdId": string(format: "uuid"), "name": string(), "nationalId": string("GB 11643, 18 characters"),
            "phone": string(), "residency": string(values: ["registered", "floating"]), "floating": ref("FloatingRegistration"), "groups": array(string()),
        ]
        let organisation: [String: Any] = [
            "id": string(format: "uuid"), "name": string(), "kind": string(values: OrganisationKind.allCases.map(\.rawValue)), "legalPerson": ["type": "boolean"], "registrationAuthority": string(),
            "registrationNumber": string(), "servesPlace": string("district or place code; absent = whole city"),
        ]
        return [
            "Location": location,
            "RoleDetails": roleDetails,
            "FloatingRegistration": floating,
            "PlaceInput": object(place, required: ["code", "level", "name"]),
            "PlaceChange": object(place.filter { !["code", "level"].contains($0.key) }),
            "Place": object(place.merging(["location": ref("Location"), "version": ["type": "integer"]]) { a, _ in a }, required: ["code", "level", "name", "location", "version"]),
            "PlaceVersion": object(["version": ["type": "integer"], "validFrom": string(format: "date-time"), "validTo": string(format: "date-time"), "place": ref("Place")]),
            "HouseholdInput": object(["id": string(format: "uuid"), "buildingCode": code, "address": string()], required: ["buildingCode", "address"]),
            "HouseholdPatch": object(["address": string()]),
            "HouseholdMove": object(["buildingCode": code, "address": string(), "reason": string()], required: ["buildingCode"]),
            "Household": household,
            "HouseholdDetail": object(["household": ref("Household"), "residents": ["type": "integer"], "moves": array(move)]),
            "ResidentInput": object(residentInput, required: ["householdId", "name", "nationalId", "residency"]),
            "ResidentPatch": object(residentInput.filter { !["id", "householdId"].contains($0.key) }),
            "ResidentMove": object(["householdId": string(format: "uuid"), "reason": string()], required: ["householdId"]),
            "Resident": object(
                [
                    "id": string(format: "uuid"), "householdId": string(format: "uuid"), "name": string(), "nationalIdMasked": string(),
                    "birthDate": string(format: "date"), "phone": string(), "residency": string(values: ["registered", "floating"]),
                    "floating": ref("FloatingRegistration"), "groups": array(string()),
                    "sensitiveGroups": array(string("only with include=sensitive")), "location": ref("Location"), "moves": array(move),
                ], required: ["id", "householdId", "name", "nationalIdMasked", "birthDate", "residency", "groups", "location"]),
            "OrganisationInput": object(organisation, required: ["name", "kind", "legalPerson"]),
            "OrganisationPatch": object(organisation.filter { $0.key != "id" }),
            "OrganisationView": object([
                "organisation": object(
                    organisation.filter { !["servesPlace", "registrationNumber"].contains($0.key) }.merging(["serves": ref("Location"), "eligibleBidder": ["type": "boolean"]]) { a, _ in a }),
                "registrationNumber": string(), "servesPlace": string(),
            ]),
            "RoleInput": object(
                ["id": string(format: "uuid"), "residentId": string(format: "uuid"), "role": string(values: PersonRole.allCases.map(\.rawValue)), "placeCode": code, "details": ref("RoleDetails"), "startedOn": string(format: "date")],
                required: ["residentId", "role"]),
            "RolePatch": object(["placeCode": code, "details": ref("RoleDetails")]),
            "RoleEnd": object(["reason": string(), "endedOn": string(format: "date")], required: ["reason"]),
            "Role": object([
                "id": string(format: "uuid"), "residentId": string(format: "uuid"), "personName": string(), "role": string(), "placeCode": string(),
                "location": ref("Location"), "details": ref("RoleDetails"), "active": ["type": "boolean"], "startedOn": string(format: "date"),
                "endedOn": string(format: "date"),
            ]),
            "SizeFinding": object([
                "code": string(), "level": string(), "name": string(), "location": ref("Location"), "households": ["type": "integer"], "policy": string(),
                "verdict": string(values: ["too-small", "too-large"]),
            ]),
            "AuditRecord": object([
                "id": ["type": "integer"], "at": string(format: "date-time"), "actorSubject": string(), "actorRole": string(), "actorName": string(),
                "action": string(values: AuditAction.allCases.map(\.rawValue)), "residentId": string(format: "uuid"), "reason": string(), "detail": string(),
            ]),
        ]
    }
}
