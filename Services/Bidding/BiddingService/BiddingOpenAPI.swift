import BiddingCore
import ServiceRuntime

/// The bidding routes as OpenAPI 3.1 (served at `/openapi.json`; a test checks it against the router).
enum BiddingOpenAPI: OpenAPIBuilding {
    static var document: String {
        OpenAPIDocument.document(
            service: BiddingService.name,
            summary: """
                Government purchase of services. A project (needs assessment, standards, cost estimate, ceiling) is put out to \
                tender; organisations the registry lists as eligible bid (token role `organisation`, scope `organisation:<id>`); \
                bids stay sealed — encrypted, announced by SHA-256 only — until the deadline, when the tender's key is released. \
                An expert panel is drawn at random, reproducibly, excluding experts tied to a bidder or the purchaser; experts \
                (role `expert`, `sub` = their registry role id), the purchaser, the recipients' representatives and a third party \
                score; the best weighted total wins, with a documented tie rule. Contracts pay by milestone, only for accepted \
                deliverables, never over the award. Awarded tenders are published as OCDS release packages under `/public/ocds`.
                """,
            paths: paths, schemas: schemas)
    }

    static let problemTexts = [
        "400": "invalid input, with `errors` per field", "401": "missing or bad token",
        "403": "role or scope does not allow it, or the organisation is not an eligible bidder",
        "404": "not found, or outside the caller's reach",
        "409": "not possible where the tender stands (illegal transition, deadline passed, scores missing, payment not due, ...)",
        "422": "names a place the registry has not published",
    ]

    static var paths: [String: Any] {
        let id = pathParameter("id")
        let write = ["400", "401", "403", "404", "409"]
        let milestone = [id, pathParameter("milestone")]
        func publicOperation(_ summary: String, id name: String, parameters: [[String: Any]], response: [String: Any]) -> [String: Any] {
            var operation = operation(summary, id: name, parameters: parameters, response: response, errors: ["400", "404"])
            operation["security"] = [[String: Any]]()
            return operation
        }
        return [
            "/api/v1/projects": [
                "post": operation(
                    "Start a purchase project from a needs assessment", id: "createProject", parameters: [idempotencyKey], body: "ProjectPlan", status: "201",
                    response: ref("Project"), errors: ["400", "401", "403", "409", "422"]),
                "get": operation(
                    "List projects", id: "listProjects",
                    parameters: pageParameters + [query("district", "district code"), query("street", "street code"), query("community", "community code"), query("serviceKind", "kind of service")],
                    response: page("Project")),
            ],
            "/api/v1/projects/{id}": ["get": operation("A project", id: "getProject", parameters: [id], response: ref("Project"), errors: ["401", "404"])],
            "/api/v1/projects/{id}/tenders": [
                "post": operation(
                    "Draft a tender for the project", id: "createTender", parameters: [id, idempotencyKey], body: "TenderProposal", status: "201",
                    response: ref("TenderSummary"), errors: write)
            ],
            "/api/v1/tenders": [
                "get": operation(
                    "List tenders (drafts only for the purchaser)", id: "listTenders",
                    parameters: pageParameters + [query("status", "tender status"), query("project", "project id"), query("district", "district code"), query("community", "community code")],
                    response: page("TenderSummary"))
            ],
            "/api/v1/tenders/{id}": [
                "get": operation(
                    "A tender with its questions, complaints, history, bids (sealed until the deadline), panel, score sheet and contract", id: "getTender",
                    parameters: [id], response: ref("TenderDetail"), errors: ["401", "404"])
            ],
            "/api/v1/tenders/{id}/transitions": [
                "post": operation(
                    "publish, evaluate (every score in), award (to the best total) or cancel (with a reason)", id: "tenderTransition", parameters: [id],
                    body: "TransitionRequest", response: ["type": "object"], errors: write)
            ],
            "/api/v1/tenders/{id}/questions": [
                "post": operation("Ask a clarification question (bidders, while bidding is open)", id: "askQuestion", parameters: [id], body: "Question", status: "201", response: ref("Clarification"), errors: write)
            ],
            "/api/v1/tenders/{id}/questions/{question}/answer": [
                "post": operation("Answer a question; visible to every bidder", id: "answerQuestion", parameters: [id, pathParameter("question")], body: "Answer", response: ref("Clarification"), errors: write)
            ],
            "/api/v1/tenders/{id}/complaints": [
                "post": operation("Complain; the tender is suspended until the complaint is decided", id: "fileComplaint", parameters: [id], body: "Complaint", status: "201", response: ref("ComplaintView"), errors: write)
            ],
            "/api/v1/tenders/{id}/complaints/{complaint}/decision": [
                "post": operation(
                    "Decide a complaint (city or district): the tender resumes; upheld against the evaluation, the panel scores again", id: "decideComplaint",
                    parameters: [id, pathParameter("complaint")], body: "Decision", response: ref("TenderSummary"), errors: write)
            ],
            "/api/v1/tenders/{id}/bid": [
                "put": operation(
                    "Submit the organisation's one sealed bid, or replace it (send replacesVersion) until the deadline; the receipt carries the announced SHA-256",
                    id: "submitBid", parameters: [id], body: "BidContents", status: "201", response: ref("BidReceipt"), errors: write)
            ],
            "/api/v1/tenders/{id}/bids": [
                "get": operation("The bids: hashes only until bidding closes, contents after", id: "listBids", parameters: [id], response: items("Bid"), errors: ["401", "404"])
            ],
            "/api/v1/tenders/{id}/bids/{bid}/disqualification": [
                "post": operation("Disqualify an opened bid with a reason (not the same as losing)", id: "disqualifyBid", parameters: [id, pathParameter("bid")], body: "Reason", response: ref("Bid"), errors: write)
            ],
            "/api/v1/tenders/{id}/panel": [
                "get": operation("The panel draw: seed, seed material, candidates, exclusions and the method to redo it", id: "getPanel", parameters: [id], response: ref("Panel"), errors: ["401", "404", "409"])
            ],
            "/api/v1/tenders/{id}/scores": [
                "post": operation("Enter quality scores for one part (experts for themselves; staff for the purchaser, recipients and third party)", id: "enterScores", parameters: [id], body: "ScoreRequest", response: ["type": "object"], errors: write)
            ],
            "/api/v1/tenders/{id}/contract": [
                "post": operation("Sign the contract: milestones that add up to the award", id: "signContract", parameters: [id, idempotencyKey], body: "ContractRequest", status: "201", response: ref("Contract"), errors: write),
                "get": operation("The contract, its milestones and payments", id: "getContract", parameters: [id], response: ref("Contract"), errors: ["401", "404", "409"]),
            ],
            "/api/v1/tenders/{id}/milestones/{milestone}/delivery": [
                "post": operation("Deliver a milestone (the contracted organisation)", id: "deliverMilestone", parameters: milestone, body: "Note", response: ref("Contract"), errors: write)
            ],
            "/api/v1/tenders/{id}/milestones/{milestone}/review": [
                "post": operation("Accept a deliverable or return it with reasons", id: "reviewMilestone", parameters: milestone, body: "Review", response: ref("Contract"), errors: write)
            ],
            "/api/v1/tenders/{id}/milestones/{milestone}/payment": [
                "post": operation(
                    "Release an accepted milestone's payment; the last one completes the tender", id: "releasePayment", parameters: milestone + [idempotencyKey],
                    status: "201", response: ref("Contract"), errors: write)
            ],
            "/api/v1/tenders/{id}/performance": [
                "post": operation("The final performance evaluation against the project's standards", id: "evaluatePerformance", parameters: [id], body: "PerformanceRequest", status: "201", response: ["type": "object"], errors: write)
            ],
            "/api/v1/organisations/{id}/record": [
                "get": operation("An organisation's record as a supplier: bids, awards, disqualifications, contracts and performance", id: "organisationRecord", parameters: [id], response: ["type": "object"], errors: ["401", "404"])
            ],
            "/public/ocds/releases": [
                "get": publicOperation("OCDS 1.1 release package of awarded tenders and their contracts (no token needed)", id: "ocdsReleases", parameters: pageParameters, response: ref("ReleasePackage"))
            ],
            "/public/ocds/tenders/{id}": [
                "get": publicOperation("One awarded tender as an OCDS 1.1 release package (no token needed)", id: "ocdsTender", parameters: [id], response: ref("ReleasePackage"))
            ],
        ]
    }

    static var schemas: [String: Any] {
        let uuid = string(format: "uuid"), time = string(format: "date-time"), text = string(), day = string(format: "date")
        let integer: [String: Any] = ["type": "integer"], number: [String: Any] = ["type": "number"], boolean: [String: Any] = ["type": "boolean"]
        let fen = ["type": "integer", "maximum": Money.largestFen, "description": "fen (1/100 yuan), at most \(Money.largestFen)"] as [String: Any]
        let costItem = object(["item": text, "amountFen": fen], required: ["item", "amountFen"])
        let weights = object(["price": integer, "expert": integer, "purchaser": integer, "recipients": integer, "thirdParty": integer])
        let statuses = [
            "draft", "published", "suspended", "bidding-closed", "panel-drawn", "evaluated", "awarded", "failed", "cancelled", "contracted", "completed",
            "performance-evaluated",
        ]
        let tender = object([
            "id": uuid, "projectId": uuid, "title": text, "status": string(values: statuses), "serviceKind": text, "placeCode": text,
            "location": ["type": "object"], "ceilingFen": fen, "biddingDeadline": time, "publishedAt": time, "awardedOrganisationId": uuid, "awardedFen": fen,
        ])
        let milestonePlan = object(["title": text, "deliverable": text, "dueOn": day, "amountFen": fen], required: ["title", "deliverable", "dueOn", "amountFen"])
        return [
            "ProjectPlan": object(
                [
                    "id": uuid, "title": text,
                    "serviceKind": string(values: ["care", "integration", "correction", "rehabilitation", "legal-aid", "employment-counselling", "psychological-counselling"]),
                    "placeCode": string("a district, street or community code"),
                    "needsAssessment": object(
                        [
                            "served": array(string(values: ["elderly", "severely-disabled", "minors", "migrant-workers", "unemployed", "low-income-families"])),
                            "people": integer,
                            "reasons": ["type": "object", "description": "broad-benefit, urgent-need, professional-service → why it applies", "additionalProperties": text],
                            "whyNow": text,
                        ], required: ["served", "people", "reasons", "whyNow"]),
                    "standards": array(object(["name": text, "measure": text, "target": text], required: ["name", "measure", "target"])),
                    "costEstimate": array(costItem), "budgetCeilingFen": fen,
                ], required: ["title", "serviceKind", "placeCode", "needsAssessment", "standards", "costEstimate", "budgetCeilingFen"]),
            "Project": object(["id": uuid, "plan": ref("ProjectPlan"), "location": ["type": "object"], "estimateFen": fen, "createdBy": text, "createdAt": time]),
            "TenderProposal": object(
                [
                    "id": uuid, "title": text, "biddingDeadline": time, "panel": object(["fields": array(text), "size": integer], required: ["fields", "size"]),
                    "weights": weights, "purchaserOrganisationId": uuid, "thirdPartyOrganisationId": uuid,
                ], required: ["biddingDeadline", "panel"]),
            "Tender": tender,
            "TenderSummary": object([
                "tender": ref("Tender"), "weights": weights, "panel": ["type": "object"], "purchaserOrganisationId": uuid, "thirdPartyOrganisationId": uuid,
                "suspendedFrom": text, "sealingKey": string("base64; released when bidding closes"),
            ]),
            "TenderDetail": object([
                "summary": ref("TenderSummary"), "clarifications": array(ref("Clarification")), "complaints": array(ref("ComplaintView")),
                "transitions": array(object(["action": text, "fromStatus": text, "toStatus": text, "actor": text, "reason": text, "at": time])),
                "bids": array(ref("Bid")), "panel": ref("Panel"), "scoreSheet": array(ref("ScoreLine")), "contract": ref("Contract"),
            ]),
            "TransitionRequest": object(["action": string(values: ["publish", "evaluate", "award", "cancel"]), "reason": text], required: ["action"]),
            "Question": object(["question": text], required: ["question"]),
            "Answer": object(["answer": text], required: ["answer"]),
            "Clarification": object(["id": uuid, "question": text, "askedAt": time, "answer": text, "answeredAt": time]),
            "Complaint": object(["grounds": text], required: ["grounds"]),
            "ComplaintView": object(["id": uuid, "organisationId": uuid, "grounds": text, "filedAt": time, "upheld": boolean, "decisionNote": text, "decidedAt": time]),
            "Decision": object(["upheld": boolean, "note": text], required: ["upheld", "note"]),
            "BidContents": object(
                [
                    "priceFen": fen, "priceBreakdown": array(costItem), "proposal": text, "team": array(text),
                    "replacesVersion": ["type": "integer", "description": "the current version, to replace the bid (not sealed)"],
                ], required: ["priceFen", "proposal"]),
            "BidReceipt": object(["bidId": uuid, "tenderId": uuid, "organisationId": uuid, "version": integer, "sha256": text, "submittedAt": time]),
            "Bid": object([
                "bidId": uuid, "organisationId": uuid, "organisationName": text, "version": integer, "sha256": text, "submittedAt": time,
                "status": string(values: ["sealed", "qualified", "disqualified", "awarded", "lost"]), "statusReason": text, "priceFen": fen,
                "contents": ref("BidContents"), "history": array(object(["version": integer, "sha256": text, "submittedAt": time])),
            ]),
            "Reason": object(["reason": text], required: ["reason"]),
            "Panel": object([
                "tenderId": uuid, "seed": text, "seedMaterial": text, "fields": array(text), "candidates": array(uuid),
                "excluded": array(object(["expertId": uuid, "affiliatedWith": array(uuid)])), "panel": array(uuid), "drawnAt": time, "method": text,
            ]),
            "ScoreRequest": object(
                [
                    "part": string(values: ["expert", "purchaser", "recipients", "third-party"]), "evaluator": string("who scored (not for experts)"),
                    "scores": array(object(["bidId": uuid, "quality": integer, "note": text], required: ["bidId", "quality"])),
                ], required: ["part", "scores"]),
            "ScoreLine": object([
                "bidId": uuid, "organisationId": uuid, "priceFen": fen, "parts": ["type": "object", "additionalProperties": number], "total": number,
                "rank": integer, "outcome": string(values: ["awarded", "lost"]),
            ]),
            "ContractRequest": object(["signedOn": day, "milestones": array(milestonePlan)], required: ["signedOn", "milestones"]),
            "Contract": object([
                "id": uuid, "tenderId": uuid, "organisationId": uuid, "valueFen": fen, "paidFen": fen, "signedOn": day,
                "milestones": array(object([
                    "id": uuid, "position": integer, "title": text, "deliverable": text, "dueOn": day, "amountFen": fen,
                    "status": string(values: ["pending", "delivered", "returned", "accepted", "paid"]), "deliveryNote": text, "deliveredAt": time,
                    "reviewNote": text, "acceptedAt": time, "paidAt": time,
                ])),
                "performance": ["type": "object"],
            ]),
            "Note": object(["note": text], required: ["note"]),
            "Review": object(["accepted": boolean, "note": text], required: ["accepted"]),
            "PerformanceRequest": object(
                ["score": integer, "standards": array(object(["standard": text, "met": boolean, "note": text], required: ["standard", "met"])), "summary": text],
                required: ["score", "standards", "summary"]),
            "ReleasePackage": object(
                ["uri": text, "version": text, "publishedDate": time, "publisher": ["type": "object"], "releases": array(["type": "object", "description": "an OCDS 1.1 release"]), "nextCursor": text]),
        ]
    }
}
