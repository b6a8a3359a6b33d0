import ServiceRuntime

/// The volunteer-matching routes as OpenAPI 3.1 (served at `/openapi.json`; a test checks it against the router).
enum VolunteerOpenAPI: OpenAPIBuilding {
    static var document: String {
        OpenAPIDocument.document(
            service: VolunteerMatchingService.name,
            summary: """
                Volunteer service matching. A reported need is matched at once: the best candidates (skills, availability, \
                place, fairness, reliability, continuity; each score explained) are offered the need; unanswered offers expire and \
                the next candidates are asked until the need is filled. Volunteers (token role `volunteer`, `sub` = their \
                volunteer role id) answer offers, check in and out, rate services and pause offers; staff verify hours and \
                record absences. A household's contact details reach a volunteer only once their assignment is confirmed.
                """,
            paths: paths, schemas: schemas)
    }

    static let problemTexts = [
        "400": "invalid input, with `errors` per field", "401": "missing or bad token", "403": "role or scope does not allow it",
        "404": "not found, or outside the caller's reach", "409": "not possible in the record's state (need filled, offer answered, double booking, ...)",
        "422": "names a grid, household, resident or volunteer the registry has not published", "503": "the candidate index is still loading",
    ]

    /// A query parameter with its type, so generated requests reach the handler rather than its parsing.
    static func query(_ name: String, _ description: String, schema: [String: Any]) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": schema, "description": description]
    }
    static var pageParameters: [[String: Any]] {
        [query("cursor", "from the previous page's nextCursor"), query("limit", "1 to 500, default 50", schema: ["type": "integer", "minimum": 1, "maximum": 500])]
    }

    static var paths: [String: Any] {
        let id: [String: Any] = ["name": "id", "in": "path", "required": true, "schema": string(format: "uuid")]
        let write = ["400", "401", "403", "404", "409"]
        let reason = "Reason"
        return [
            "/api/v1/needs": [
                "post": operation(
                    "Report a service need; the first offers go out at once", id: "reportNeed", parameters: [idempotencyKey], body: "NeedIntake", status: "201",
                    response: object(["need": ref("Need"), "offers": array(ref("Offer"))]), errors: ["400", "401", "403", "409", "422"]),
                "get": operation(
                    "List needs in the caller's scope", id: "listNeeds",
                    parameters: pageParameters + [
                        query("district", "district code"), query("street", "street code"), query("community", "community code"), query("grid", "grid code"),
                        query("status", "open, filled or cancelled", schema: string(values: ["open", "filled", "cancelled"])), query("kind", "kind of service"), query("household", "household id", schema: string(format: "uuid")),
                    ], response: page("Need")),
            ],
            "/api/v1/needs/{id}": [
                "get": operation(
                    "A need; staff also see offers and assignments; a volunteer sees contact details once confirmed", id: "getNeed", parameters: [id],
                    response: ref("NeedDetail"), errors: ["401", "404"])
            ],
            "/api/v1/needs/{id}/candidates": [
                "get": operation(
                    "The ranked candidates for a need now, each score with its parts", id: "needCandidates", parameters: [id, query("limit", "1 to 50, default 10", schema: ["type": "integer", "minimum": 1, "maximum": 50])],
                    response: array(object(["volunteerId": string(format: "uuid"), "score": ref("Score")])), errors: ["401", "403", "404", "503"])
            ],
            "/api/v1/needs/{id}/cancel": [
                "post": operation("Cancel a need (offers withdrawn, assignments cancelled)", id: "cancelNeed", parameters: [id], body: reason, response: ref("Need"), errors: write)
            ],
            "/api/v1/offers/{id}/accept": [
                "post": operation("Accept an offer: a seat is taken, or 409 when the need is filled", id: "acceptOffer", parameters: [id], status: "201", response: ref("Assignment"), errors: write)
            ],
            "/api/v1/offers/{id}/decline": [
                "post": operation("Decline an offer (optional reason); the next candidate is asked", id: "declineOffer", parameters: [id], response: ref("Offer"), errors: write)
            ],
            "/api/v1/assignments/{id}": [
                "get": operation("An assignment and the time it holds", id: "getAssignment", parameters: [id], response: ref("Assignment"), errors: ["401", "404"])
            ],
            "/api/v1/assignments/{id}/cancel": [
                "post": operation("Cancel an assignment with a reason (either side); the seat opens again", id: "cancelAssignment", parameters: [id], body: reason, response: ref("Assignment"), errors: write)
            ],
            "/api/v1/assignments/{id}/check-in": [
                "post": operation("Check in for the window under way, or for `windowStart`", id: "checkIn", parameters: [id], status: "201", response: ref("ServiceRecord"), errors: write)
            ],
            "/api/v1/assignments/{id}/check-out": [
                "post": operation("Check out: hours computed, pending verification", id: "checkOut", parameters: [id], response: ref("ServiceRecord"), errors: write)
            ],
            "/api/v1/assignments/{id}/absences": [
                "post": operation("Record a missed window, excused or not", id: "recordAbsence", parameters: [id], body: "Absence", status: "201", response: ref("Absence"), errors: write)
            ],
            "/api/v1/service-records/{id}": [
                "get": operation("A service record", id: "getServiceRecord", parameters: [id], response: ref("ServiceRecord"), errors: ["401", "404"])
            ],
            "/api/v1/service-records/{id}/verification": [
                "post": operation(
                    "Approve or reject the hours (approved hours are locked); `X-On-Behalf-Of` names the recipient when they confirm",
                    id: "verifyServiceRecord",
                    parameters: [id, ["name": "X-On-Behalf-Of", "in": "header", "required": false, "schema": ["type": "string"]]],
                    body: "Decision", response: ref("ServiceRecord"), errors: write)
            ],
            "/api/v1/service-records/{id}/ratings": [
                "post": operation("Rate a service, 1 to 5, once from each side", id: "rateService", parameters: [id], body: "Rating", response: ref("ServiceRecord"), errors: write)
            ],
            "/api/v1/volunteers/{id}": [
                "get": operation("A volunteer with their figures", id: "getVolunteer", parameters: [id], response: ref("Volunteer"), errors: ["401", "404"])
            ],
            "/api/v1/volunteers/{id}/offers": [
                "get": operation("A volunteer's offers", id: "volunteerOffers", parameters: [id, query("status", "pending (default), accepted, declined, expired, withdrawn", schema: string(values: ["pending", "accepted", "declined", "expired", "withdrawn"]))], response: array(ref("Offer")), errors: ["401", "404"])
            ],
            "/api/v1/volunteers/{id}/hours": [
                "get": operation("Hours per month of a year, approved and pending", id: "volunteerHours", parameters: [id, query("year", "default: this year", schema: ["type": "integer", "minimum": 2000, "maximum": 2100])], response: ref("Hours"), errors: ["400", "401", "404"])
            ],
            "/api/v1/volunteers/{id}/pause": [
                "post": operation("Pause all offers (pending ones are withdrawn)", id: "pauseVolunteer", parameters: [id], response: ref("Volunteer"), errors: ["401", "403", "404"])
            ],
            "/api/v1/volunteers/{id}/resume": [
                "post": operation("Receive offers again", id: "resumeVolunteer", parameters: [id], response: ref("Volunteer"), errors: ["401", "403", "404"])
            ],
            "/api/v1/pairings": [
                "post": operation("Pair a volunteer with a household (service contact card)", id: "createPairing", body: "PairingInput", status: "201", response: ref("Pairing"), errors: ["400", "401", "403", "409", "422"])
            ],
            "/api/v1/pairings/{id}": [
                "get": operation("A service contact card", id: "getPairing", parameters: [id], response: ref("Pairing"), errors: ["401", "404"])
            ],
            "/api/v1/pairings/{id}/end": [
                "post": operation("End a pairing with a reason", id: "endPairing", parameters: [id], body: reason, response: ref("Pairing"), errors: write)
            ],
        ]
    }

    static var schemas: [String: Any] {
        let uuid = string(format: "uuid"), time = string(format: "date-time"), text = string()
        let number: [String: Any] = ["type": "number"], integer: [String: Any] = ["type": "integer"]
        let window = object(["start": time, "end": time], required: ["start", "end"])
        let kinds = [
            "day-care", "elder-care", "meal-delivery", "after-school-care", "rehabilitation", "nursing", "tutoring", "counselling", "hardship-help",
            "migrant-worker-training", "other",
        ]
        let contact = object(["name": text, "phone": text, "address": text], required: ["name"])
        return [
            "NeedIntake": object(
                [
                    "id": uuid, "householdId": uuid, "residentId": uuid, "grid": string("defaults to the household's grid"), "kind": string(values: kinds),
                    "skills": array(text), "windows": array(window),
                    "schedule": object(["weekly": array(string("e.g. tue 14:00-16:00")), "from": string(format: "date"), "until": string(format: "date")], required: ["weekly", "from", "until"]),
                    "volunteers": ["type": "integer", "minimum": 1, "maximum": 50], "urgency": string(values: ["routine", "soon", "urgent"]), "contact": contact, "notes": text,
                ], required: ["kind"]),
            "Need": object([
                "id": uuid, "kind": text, "skills": array(text), "location": ["type": "object"], "householdId": uuid, "residentId": uuid, "windows": array(window),
                "volunteers": integer, "urgency": text, "status": string(values: ["open", "filled", "cancelled"]), "confirmed": integer, "openedAt": time,
            ]),
            "NeedDetail": object([
                "need": ref("Need"), "contact": contact, "notes": text, "offers": array(ref("Offer")), "assignments": array(ref("Assignment")),
            ]),
            "Score": object([
                "total": number, "place": number, "skills": number, "fairness": number, "reliability": number, "continuity": number,
                "nearness": string(values: ["grid", "community", "street", "district", "elsewhere"]),
            ]),
            "Offer": object([
                "id": uuid, "needId": uuid, "volunteerId": uuid, "status": string(values: ["pending", "accepted", "declined", "expired", "withdrawn"]),
                "rank": integer, "score": ref("Score"), "offeredAt": time, "expiresAt": time, "answeredAt": time, "reason": text,
            ]),
            "Assignment": object([
                "id": uuid, "needId": uuid, "volunteerId": uuid, "householdId": uuid, "status": string(values: ["confirmed", "cancelled"]),
                "windows": array(window), "confirmedAt": time, "cancelledBy": text, "cancelReason": text,
            ]),
            "ServiceRecord": object([
                "id": uuid, "assignmentId": uuid, "needId": uuid, "volunteerId": uuid, "householdId": uuid, "windowStart": time, "checkedInAt": time,
                "checkedOutAt": time, "hours": number, "verification": string(values: ["open", "pending", "approved", "rejected"]), "verifiedBy": text,
                "recipientRating": integer, "volunteerRating": integer,
            ]),
            "Absence": object(["windowStart": time, "excused": ["type": "boolean"], "reason": text], required: ["windowStart", "excused"]),
            "Decision": object(["decision": string(values: ["approve", "reject"]), "note": string("required to reject")], required: ["decision"]),
            "Rating": object(["from": string(values: ["recipient", "volunteer"]), "stars": ["type": "integer", "minimum": 1, "maximum": 5], "comment": text], required: ["from", "stars"]),
            "Reason": object(["reason": text], required: ["reason"]),
            "Volunteer": object([
                "id": uuid, "residentId": uuid, "name": text, "skills": array(text), "availability": array(text), "location": ["type": "object"],
                "active": ["type": "boolean"], "paused": ["type": "boolean"], "pausedReason": text, "hoursThisMonth": number, "completed": integer,
                "noShows": integer, "averageRating": number,
            ]),
            "Hours": object([
                "volunteerId": uuid, "year": integer, "approvedHours": number, "pendingHours": number,
                "months": array(object(["month": text, "services": integer, "approvedHours": number, "pendingHours": number])),
            ]),
            "PairingInput": object(
                ["volunteerId": uuid, "householdId": uuid, "kind": string(values: kinds), "schedule": array(text), "startsOn": string(format: "date"), "endsOn": string(format: "date")],
                required: ["volunteerId", "householdId", "kind", "schedule", "startsOn"]),
            "Pairing": object([
                "id": uuid, "volunteerId": uuid, "householdId": uuid, "kind": text, "schedule": array(text), "startsOn": text, "endsOn": text,
                "active": ["type": "boolean"], "endReason": text, "volunteerName": text, "householdAddress": text,
            ]),
        ]
    }
}
