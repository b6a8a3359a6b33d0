import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

/// The registry's HTTP API under `/api/v1`: places, households, residents, organisations, roles, the
/// size-policy report and the audit log. Writes go through the same stores as the district ingress.
struct RegistryAPI: Sendable {
    let database: Database
    let digest: NationalIDDigest
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Registrations that arrive together share a transaction (see `GroupCommit`).
    let householdRegistrations: GroupCommit<HouseholdRegistration, HouseholdSnapshot>

    init(database: Database, digest: NationalIDDigest, logger: Logger, clock: @escaping @Sendable () -> Date) {
        self.database = database
        self.digest = digest
        self.logger = logger
        self.clock = clock
        householdRegistrations = GroupCommit(name: "household", database: database, logger: logger) { registrations, connection in
            try await HouseholdRegistration.write(registrations, now: clock(), on: connection, logger: logger)
        }
    }

    static let onBehalfOf = HTTPFields.Element.Name("X-On-Behalf-Of")!
    static let accessReason = HTTPFields.Element.Name("X-Access-Reason")!

    func register(on api: RouterGroup<AppContext>) {
        let places = api.group("places")
        places.post(use: createPlace)
        places.get(use: listPlaces)
        places.get(":code", use: getPlace)
        places.patch(":code", use: updatePlace)
        places.get(":code/versions", use: placeVersions)

        let households = api.group("households")
        households.post(use: createHousehold)
        households.get(use: listHouseholds)
        households.get(":id", use: getHousehold)
        households.patch(":id", use: updateHousehold)
        households.post(":id/moves", use: moveHousehold)

        let residents = api.group("residents")
        residents.post(use: createResident)
        residents.get(use: listResidents)
        residents.get(":id", use: getResident)
        residents.patch(":id", use: updateResident)
        residents.post(":id/moves", use: moveResident)

        let organisations = api.group("organisations")
        organisations.post(use: createOrganisation)
        organisations.get(use: listOrganisations)
        organisations.get(":id", use: getOrganisation)
        organisations.patch(":id", use: updateOrganisation)

        let roles = api.group("roles")
        roles.post(use: assignRole)
        roles.get(use: listRoles)
        roles.get(":id", use: getRole)
        roles.patch(":id", use: updateRole)
        roles.post(":id/end", use: endRole)

        api.get("reports/size-policy", use: sizeReport)
        api.get("audit-log", use: auditLog)
    }

    // MARK: shared steps

    /// The caller, who must hold one of `roles`.
    private func actor(_ context: AppContext, _ roles: Set<Role>, _ action: String) throws -> RegistryActor {
        RegistryActor(try context.requirePrincipal(roles: roles, action: action))
    }

    /// A write: body read, `Idempotency-Key` honoured on creates, the `X-On-Behalf-Of` resident recorded.
    private func write<Input: Decodable & Sendable>(
        _ request: Request, _ context: AppContext, roles: Set<Role>, action: String, idempotent: Bool = false,
        _ perform: @escaping @Sendable (Input, RegistryActor, Date, PostgresConnection) async throws -> APIResult
    ) async throws -> Response {
        let actor = try actor(context, roles, action)
        let body = try await request.collectBody()
        let input = try decodeJSON(Input.self, from: body)
        let onBehalf = try request.headers[Self.onBehalfOf].map { text throws(ProblemDetails) in
            guard let id = UUID(uuidString: text) else { throw .badRequest("X-On-Behalf-Of must be a resident id (a UUID).") }
            return id
        }
        let reason = request.headers[Self.accessReason]
        let route = "\(request.method) \(request.uri.path)"
        let logger = logger, clock = clock
        let work: @Sendable (PostgresConnection) async throws -> APIResult = { connection in
            let now = clock()
            if let onBehalf {
                guard let resident = try await ResidentStore(logger: logger, digest: digest).find(ids: [onBehalf], on: connection)[onBehalf] else {
                    throw RegistryError.unknownReference(field: "X-On-Behalf-Of", kind: "resident", id: onBehalf.uuidString.lowercased())
                }
                try actor.requireScope(resident.path.scopePath, kind: "resident", id: onBehalf.uuidString.lowercased())
                try await AuditLog(logger: logger).append(
                    [AuditEntry(actor: actor, action: .actedForResident, residentId: onBehalf, reason: reason, detail: route)], on: connection)
            }
            return try await perform(input, actor, now, connection)
        }
        if idempotent {
            return try await IdempotentWrite.run(request, body: body, subject: actor.subject, database: database, logger: logger, perform: work)
        }
        return try await database.transaction { connection in try await work(connection) }.response()
    }

    private func read(_ context: AppContext, roles: Set<Role> = RegistryAccess.readers) throws -> RegistryActor {
        try actor(context, roles, "read the registry")
    }

    /// The caller's scope combined with the place filters of the query; asking for a place outside
    /// the scope is refused rather than silently answered with nothing.
    private func placeFilter(_ query: [String: String], scope: Scope) throws -> PlacePath {
        var path = try RegistryAccess.scopeFilter(scope)
        for (name, keyPath) in [("district", \PlacePath.district), ("street", \PlacePath.street), ("community", \PlacePath.community)] {
            guard let value = query[name] else { continue }
            if let forced = path[keyPath: keyPath], forced != value {
                throw ProblemDetails.forbidden("Your scope \(scope) does not include \(name) \(value).")
            }
            path[keyPath: keyPath] = value
        }
        return path
    }

    private func uuid(_ context: AppContext, _ name: String = "id") throws -> UUID { try context.uuidParameter(name) }

    private func ok<Body: Encodable>(_ body: Body) throws -> Response { try APIResult(.ok, body).response() }

    private func visible(_ path: PathColumns?, to actor: RegistryActor, kind: String, id: String) throws(RegistryError) {
        if let path {
            guard actor.scope.covers(path.scopePath) else { throw .notFound(kind: kind, id: id) }
        } else if actor.scope.level != .city && actor.scope.level != .district {
            throw .notFound(kind: kind, id: id)
        }
    }

    // MARK: places

    struct PlaceInput: Codable, Sendable {
        var code: String
        var level: String
        var name: String
        var parentCode: String?
        var communityType: String?
        var workstation: String?
        var boundary: String?
        var address: String?
    }

    @Sendable func createPlace(_ request: Request, context: AppContext) async throws -> Response {
        try await write(request, context, roles: RegistryAccess.placeWriters, action: "draw places", idempotent: true) { (input: PlaceInput, actor, now, connection) in
            let facts = try validated { () throws(InvalidRecord) in
                try PlaceFacts(
                    code: input.code, level: input.level, name: input.name, parentCode: input.parentCode, communityType: input.communityType,
                    workstation: input.workstation, boundary: input.boundary, address: input.address)
            }
            return try APIResult(.created, try await PlaceStore(logger: logger).register(facts, actor: actor, now: now, on: connection))
        }
    }

    @Sendable func listPlaces(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        let filter = PlaceStore.Filter(level: query["level"], parent: query["parent"], place: try placeFilter(query, scope: actor.scope))
        let page = try PageRequest(query)
        return try ok(try await database.withConnection { try await PlaceStore(logger: logger).list(filter, page: page, on: $0) })
    }

    @Sendable func getPlace(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let code = try context.parameters.require("code")
        guard let place = try await database.withConnection({ try await PlaceStore(logger: logger).find(code, on: $0) }) else {
            throw RegistryError.notFound(kind: "place", id: code)
        }
        try visible(place.path, to: actor, kind: "place", id: code)
        return try ok(place.snapshot)
    }

    @Sendable func updatePlace(_ request: Request, context: AppContext) async throws -> Response {
        let code = try context.parameters.require("code")
        return try await write(request, context, roles: RegistryAccess.placeWriters, action: "draw places") { (change: PlaceChange, actor, now, connection) in
            try APIResult(.ok, try await PlaceStore(logger: logger).update(code, change: change, actor: actor, now: now, on: connection).0)
        }
    }

    @Sendable func placeVersions(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let code = try context.parameters.require("code")
        let versions = try await database.withConnection { connection in
            guard let place = try await PlaceStore(logger: logger).find(code, on: connection) else { throw RegistryError.notFound(kind: "place", id: code) }
            try visible(place.path, to: actor, kind: "place", id: code)
            return try await PlaceStore(logger: logger).versions(code, on: connection)
        }
        return try ok(["items": versions])
    }

    @Sendable func sizeReport(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        var level: PlaceLevel?
        if let text = query["level"] {
            guard let parsed = PlaceLevel(rawValue: text), parsed == .community || parsed == .grid else {
                throw ProblemDetails.badRequest("level must be community or grid.")
            }
            level = parsed
        }
        let place = try placeFilter(query, scope: actor.scope)
        let findings = try await database.withConnection {
            try await PlaceStore(logger: logger).sizeReport(level: level, place: place, policy: SizePolicy(), on: $0)
        }
        return try ok(["items": findings])
    }

    // MARK: households

    struct HouseholdInput: Codable, Sendable {
        var id: UUID?
        var buildingCode: String
        var address: String
    }

    struct HouseholdPatch: Codable, Sendable {
        var address: String?
    }

    struct HouseholdMove: Codable, Sendable {
        var buildingCode: String
        var address: String?
        var reason: String?
    }

    private func writeHousehold(
        _ facts: HouseholdFacts, mode: WriteMode, actor: RegistryActor, reason: String? = nil, now: Date, on connection: PostgresConnection
    ) async throws -> WriteOutcome<HouseholdSnapshot> {
        let result = try await HouseholdStore(logger: logger).write([facts], mode: mode, actor: actor, reason: reason, now: now, on: connection)
        return try result[0].get()
    }

    @Sendable func createHousehold(_ request: Request, context: AppContext) async throws -> Response {
        @Sendable func facts(_ input: HouseholdInput) throws -> HouseholdFacts {
            try validated { () throws(InvalidRecord) in
                try HouseholdFacts(DistrictHousehold(id: input.id ?? UUID.random(), buildingCode: input.buildingCode, address: input.address))
            }
        }
        // A plain registration may share its transaction with others; one that must record its key
        // or an audit entry beside it is written on its own.
        guard request.headers[IdempotentWrite.header] != nil || request.headers[Self.onBehalfOf] != nil else {
            let actor = try actor(context, RegistryAccess.writers, "register households")
            let input = try decodeJSON(HouseholdInput.self, from: try await request.collectBody())
            let registration = HouseholdRegistration(facts: try facts(input), actor: actor)
            return try APIResult(.created, try await householdRegistrations.submit(registration)).response()
        }
        return try await write(request, context, roles: RegistryAccess.writers, action: "register households", idempotent: true) { (input: HouseholdInput, actor, now, connection) in
            try APIResult(.created, try await writeHousehold(try facts(input), mode: .create, actor: actor, now: now, on: connection).snapshot)
        }
    }

    @Sendable func listHouseholds(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        let filter = HouseholdStore.Filter(place: try placeFilter(query, scope: actor.scope), grid: query["grid"], building: query["building"])
        let page = try PageRequest(query)
        return try ok(try await database.withConnection { try await HouseholdStore(logger: logger).list(filter, page: page, on: $0) })
    }

    @Sendable func getHousehold(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let id = try uuid(context)
        guard let (view, path) = try await database.withConnection({ try await HouseholdStore(logger: logger).detail(id, on: $0) }) else {
            throw RegistryError.notFound(kind: "household", id: id.uuidString.lowercased())
        }
        try visible(path, to: actor, kind: "household", id: id.uuidString.lowercased())
        return try ok(view)
    }

    @Sendable func updateHousehold(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "update households") { (patch: HouseholdPatch, actor, now, connection) in
            guard let current = try await HouseholdStore(logger: logger).find(ids: [id], on: connection)[id] else {
                throw RegistryError.notFound(kind: "household", id: id.uuidString.lowercased())
            }
            let facts = try validated { () throws(InvalidRecord) in
                try HouseholdFacts(DistrictHousehold(id: id, buildingCode: current.path.building ?? "", address: patch.address ?? current.address))
            }
            return try APIResult(.ok, try await writeHousehold(facts, mode: .update, actor: actor, now: now, on: connection).snapshot)
        }
    }

    @Sendable func moveHousehold(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "move households") { (move: HouseholdMove, actor, now, connection) in
            guard let current = try await HouseholdStore(logger: logger).find(ids: [id], on: connection)[id] else {
                throw RegistryError.notFound(kind: "household", id: id.uuidString.lowercased())
            }
            let facts = try validated { () throws(InvalidRecord) in
                try HouseholdFacts(DistrictHousehold(id: id, buildingCode: move.buildingCode, address: move.address ?? current.address))
            }
            guard facts.buildingCode != current.path.building else {
                throw RegistryError.invalid([FieldIssue("buildingCode", "the household lives in \(facts.buildingCode) already")])
            }
            return try APIResult(.ok, try await writeHousehold(facts, mode: .update, actor: actor, reason: move.reason, now: now, on: connection).snapshot)
        }
    }

    // MARK: residents

    struct ResidentInput: Codable, Sendable {
        var id: UUID?
        var householdId: UUID
        var name: String
        var nationalId: String
        var phone: String?
        var residency: String
        var floating: FloatingRegistration?
        var groups: [String]?
    }

    struct ResidentPatch: Codable, Sendable {
        var name: String?
        var nationalId: String?
        var phone: String?
        var residency: String?
        var floating: FloatingRegistration?
        var groups: [String]?
    }

    struct ResidentMove: Codable, Sendable {
        var householdId: UUID
        var reason: String?
    }

    /// A resident as the API shows it: the national ID masked, sensitive groups only when asked for by
    /// a role that may see them (and then logged).
    struct ResidentView: Codable, Sendable {
        var id: UUID
        var householdId: UUID
        var name: String
        var nationalIdMasked: String
        var birthDate: String
        var phone: String?
        var residency: String
        var floating: FloatingFacts?
        var groups: [String]
        var sensitiveGroups: [String]?
        var location: PlaceLocation
        var moves: [ResidentStore.MoveView]?

        init(_ record: ResidentRecord, revealSensitive: Bool = false, moves: [ResidentStore.MoveView]? = nil) {
            id = record.id
            householdId = record.householdId
            name = record.name
            nationalIdMasked = record.masked
            birthDate = record.birthDate
            phone = record.phone
            residency = record.residency
            floating = record.floating
            groups = record.groups
            sensitiveGroups = revealSensitive ? record.sensitiveGroups : nil
            location = record.path.location
            self.moves = moves
        }
    }

    /// The sensitive groups a partial update carries over: only for those who may write them (for the
    /// others the store keeps them as they are; naming them would be refused and would disclose them).
    private func sensitiveKept(_ current: ResidentRecord, by actor: RegistryActor) -> [String] {
        sensitiveWriters.contains(actor.role) ? current.sensitiveGroups : []
    }

    private func writeResident(
        _ facts: ResidentFacts, mode: WriteMode, actor: RegistryActor, reason: String? = nil, now: Date, on connection: PostgresConnection
    ) async throws -> ResidentRecord {
        let result = try await ResidentStore(logger: logger, digest: digest).write([facts], mode: mode, actor: actor, reason: reason, now: now, on: connection)
        return try result[0].get().snapshot
    }

    @Sendable func createResident(_ request: Request, context: AppContext) async throws -> Response {
        try await write(request, context, roles: RegistryAccess.writers, action: "register residents", idempotent: true) { (input: ResidentInput, actor, now, connection) in
            let facts = try validated { () throws(InvalidRecord) in
                try ResidentFacts(
                    id: input.id ?? UUID.random(), householdId: input.householdId, name: input.name, nationalID: input.nationalId, phone: input.phone,
                    residency: input.residency, floating: input.floating, groups: input.groups ?? [], today: now)
            }
            let record = try await writeResident(facts, mode: .create, actor: actor, now: now, on: connection)
            return try APIResult(.created, ResidentView(record, revealSensitive: sensitiveWriters.contains(actor.role)))
        }
    }

    @Sendable func updateResident(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "update residents") { (patch: ResidentPatch, actor, now, connection) in
            guard let current = try await ResidentStore(logger: logger, digest: digest).find(ids: [id], on: connection)[id] else {
                throw RegistryError.notFound(kind: "resident", id: id.uuidString.lowercased())
            }
            try visible(current.path, to: actor, kind: "resident", id: id.uuidString.lowercased())
            let residency = patch.residency ?? current.residency
            let floating = residency == "registered" ? patch.floating : patch.floating ?? current.floating?.registration
            let facts = try validated { () throws(InvalidRecord) in
                try ResidentFacts(
                    id: id, householdId: current.householdId, name: patch.name ?? current.name, nationalID: patch.nationalId, phone: patch.phone ?? current.phone,
                    residency: residency, floating: floating, groups: patch.groups ?? (current.groups + sensitiveKept(current, by: actor)), today: now)
            }
            let record = try await writeResident(facts, mode: .update, actor: actor, now: now, on: connection)
            return try APIResult(.ok, ResidentView(record))
        }
    }

    @Sendable func moveResident(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "move residents") { (move: ResidentMove, actor, now, connection) in
            guard let current = try await ResidentStore(logger: logger, digest: digest).find(ids: [id], on: connection)[id] else {
                throw RegistryError.notFound(kind: "resident", id: id.uuidString.lowercased())
            }
            try visible(current.path, to: actor, kind: "resident", id: id.uuidString.lowercased())
            guard move.householdId != current.householdId else {
                throw RegistryError.invalid([FieldIssue("householdId", "the resident lives in this household already")])
            }
            let facts = try validated { () throws(InvalidRecord) in
                try ResidentFacts(
                    id: id, householdId: move.householdId, name: current.name, nationalID: nil, phone: current.phone, residency: current.residency,
                    floating: current.floating?.registration,
                    groups: current.groups + sensitiveKept(current, by: actor), today: now)
            }
            let record = try await writeResident(facts, mode: .update, actor: actor, reason: move.reason, now: now, on: connection)
            return try APIResult(.ok, ResidentView(record))
        }
    }

    /// `include=sensitive` asks for sensitive-group membership: only roles that need it, only with a
    /// reason (`X-Access-Reason`), and every such read is written to the audit log in the same transaction.
    private func sensitiveAccess(_ request: Request, actor: RegistryActor, wanted: Bool) throws -> String? {
        guard wanted else { return nil }
        guard RegistryAccess.sensitiveReaders.contains(actor.role) else {
            throw ProblemDetails.forbidden("The role \(actor.role.rawValue) may not see sensitive-group membership.")
        }
        guard let reason = request.headers[Self.accessReason]?.trimmingCharacters(in: .whitespaces), reason.count >= 3 else {
            throw ProblemDetails.badRequest("Reading sensitive-group membership needs a reason in the X-Access-Reason header; it is logged.")
        }
        return reason
    }

    @Sendable func getResident(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let id = try uuid(context)
        let reason = try sensitiveAccess(request, actor: actor, wanted: request.queryValues["include"] == "sensitive")
        let view = try await database.transaction { connection in
            let store = ResidentStore(logger: logger, digest: digest)
            guard let record = try await store.find(ids: [id], on: connection)[id] else {
                throw RegistryError.notFound(kind: "resident", id: id.uuidString.lowercased())
            }
            try visible(record.path, to: actor, kind: "resident", id: id.uuidString.lowercased())
            if let reason {
                try await AuditLog(logger: logger).append(
                    [AuditEntry(actor: actor, action: .sensitiveGroupsRead, residentId: id, reason: reason, detail: "GET resident")], on: connection)
            }
            return ResidentView(record, revealSensitive: reason != nil, moves: try await store.moves(of: id, on: connection))
        }
        return try ok(view)
    }

    @Sendable func listResidents(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        var filter = ResidentStore.Filter(
            place: try placeFilter(query, scope: actor.scope), grid: query["grid"], role: query["role"], residency: query["residency"],
            namePrefix: query["name"])
        if let household = query["household"] {
            guard let id = UUID(uuidString: household) else { throw ProblemDetails.badRequest("household must be a UUID.") }
            filter.household = id
        }
        var reason: String?
        if let group = query["group"] {
            guard let parsed = PopulationGroup(rawValue: group) else {
                throw ProblemDetails.badRequest("group must be one of \(PopulationGroup.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            if parsed.isSensitive {
                reason = try sensitiveAccess(request, actor: actor, wanted: true)
                filter.sensitiveGroup = group
            } else {
                filter.group = group
            }
        }
        let page = try PageRequest(query)
        let records = try await database.transaction { connection in
            let records = try await ResidentStore(logger: logger, digest: digest).list(filter, page: page, on: connection)
            if let reason, let group = filter.sensitiveGroup {
                try await AuditLog(logger: logger).append(
                    records.prefix(page.limit).map {
                        AuditEntry(actor: actor, action: .sensitiveGroupListed, residentId: $0.id, reason: reason, detail: "listed by group \(group)")
                    }, on: connection)
            }
            return records
        }
        let views = records.map { ResidentView($0, revealSensitive: reason != nil) }
        return try ok(Page(fetched: views, limit: page.limit) { $0.id.uuidString })
    }

    // MARK: organisations

    struct OrganisationInput: Codable, Sendable {
        var id: UUID?
        var name: String
        var kind: String
        var legalPerson: Bool
        var registrationAuthority: String?
        var registrationNumber: String?
        var servesPlace: String?
    }

    struct OrganisationPatch: Codable, Sendable {
        var name: String?
        var kind: String?
        var legalPerson: Bool?
        var registrationAuthority: String?
        var registrationNumber: String?
        var servesPlace: String?
    }

    private func writeOrganisation(_ input: OrganisationInput, id: UUID, mode: WriteMode, actor: RegistryActor, now: Date, on connection: PostgresConnection)
        async throws -> OrganisationView
    {
        let facts = try validated { () throws(InvalidRecord) in
            try OrganisationFacts(
                id: id, name: input.name, kind: input.kind, legalPerson: input.legalPerson, registrationAuthority: input.registrationAuthority,
                registrationNumber: input.registrationNumber, servesPlace: input.servesPlace)
        }
        return try await OrganisationStore(logger: logger).write(facts, mode: mode, actor: actor, now: now, on: connection).snapshot.view
    }

    @Sendable func createOrganisation(_ request: Request, context: AppContext) async throws -> Response {
        try await write(request, context, roles: RegistryAccess.writers, action: "register organisations", idempotent: true) { (input: OrganisationInput, actor, now, connection) in
            try APIResult(.created, try await writeOrganisation(input, id: input.id ?? UUID.random(), mode: .create, actor: actor, now: now, on: connection))
        }
    }

    @Sendable func updateOrganisation(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "update organisations") { (patch: OrganisationPatch, actor, now, connection) in
            guard let current = try await OrganisationStore(logger: logger).find(id, on: connection) else {
                throw RegistryError.notFound(kind: "organisation", id: id.uuidString.lowercased())
            }
            let input = OrganisationInput(
                id: id, name: patch.name ?? current.name, kind: patch.kind ?? current.kind, legalPerson: patch.legalPerson ?? current.legalPerson,
                registrationAuthority: patch.registrationAuthority ?? current.registrationAuthority,
                registrationNumber: patch.registrationNumber ?? current.registrationNumber, servesPlace: patch.servesPlace ?? current.servesPlace)
            return try APIResult(.ok, try await writeOrganisation(input, id: id, mode: .update, actor: actor, now: now, on: connection))
        }
    }

    @Sendable func listOrganisations(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        var eligible: Bool?
        if let text = query["eligibleBidder"] {
            guard let value = Bool(text) else { throw ProblemDetails.badRequest("eligibleBidder must be true or false.") }
            eligible = value
        }
        let filter = OrganisationStore.Filter(place: try placeFilter(query, scope: actor.scope), kind: query["kind"], eligibleBidder: eligible)
        let page = try PageRequest(query)
        return try ok(try await database.withConnection { try await OrganisationStore(logger: logger).list(filter, page: page, on: $0) })
    }

    @Sendable func getOrganisation(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try uuid(context)
        guard let organisation = try await database.withConnection({ try await OrganisationStore(logger: logger).find(id, on: $0) }) else {
            throw RegistryError.notFound(kind: "organisation", id: id.uuidString.lowercased())
        }
        // An organisation's own token reads its own record.
        if !(principal.role == .organisation && principal.scope.level == .organisation && principal.scope.id == id.uuidString.lowercased()) {
            let actor = try read(context)
            try visible(organisation.path, to: actor, kind: "organisation", id: id.uuidString.lowercased())
        }
        return try ok(organisation.view)
    }

    // MARK: roles

    struct RoleInput: Codable, Sendable {
        var id: UUID?
        var residentId: UUID
        var role: String
        var placeCode: String?
        var details: RoleDetails?
        var startedOn: String?
    }

    struct RolePatch: Codable, Sendable {
        var placeCode: String?
        var details: RoleDetails?
    }

    struct RoleEnd: Codable, Sendable {
        var reason: String
        var endedOn: String?
    }

    @Sendable func assignRole(_ request: Request, context: AppContext) async throws -> Response {
        try await write(request, context, roles: RegistryAccess.writers, action: "assign roles", idempotent: true) { (input: RoleInput, actor, now, connection) in
            let record = DistrictRole(
                id: input.id ?? UUID.random(), residentId: input.residentId, role: input.role, placeCode: input.placeCode, details: input.details,
                startedOn: input.startedOn)
            return try APIResult(.created, try await RoleStore(logger: logger).assign(record, mode: .create, actor: actor, now: now, on: connection).snapshot.snapshot)
        }
    }

    @Sendable func updateRole(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "update roles") { (patch: RolePatch, actor, now, connection) in
            guard let current = try await RoleStore(logger: logger).find(id, on: connection) else {
                throw RegistryError.notFound(kind: "role", id: id.uuidString.lowercased())
            }
            let record = DistrictRole(
                id: id, residentId: current.residentId, role: current.role, placeCode: patch.placeCode ?? current.placeCode,
                details: patch.details ?? current.details, startedOn: current.startedOn)
            return try APIResult(.ok, try await RoleStore(logger: logger).assign(record, mode: .update, actor: actor, now: now, on: connection).snapshot.snapshot)
        }
    }

    @Sendable func endRole(_ request: Request, context: AppContext) async throws -> Response {
        let id = try uuid(context)
        return try await write(request, context, roles: RegistryAccess.writers, action: "end roles") { (end: RoleEnd, actor, now, connection) in
            let outcome = try await RoleStore(logger: logger).end(id, reason: end.reason, endedOn: end.endedOn, actor: actor, now: now, on: connection)
            if case .unchanged = outcome { throw RegistryError.conflict("Role \(id.uuidString.lowercased()) has ended already.") }
            return try APIResult(.ok, outcome.snapshot.snapshot)
        }
    }

    @Sendable func listRoles(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let query = request.queryValues
        var filter = RoleStore.Filter(place: try placeFilter(query, scope: actor.scope), grid: query["grid"], role: query["role"], skill: query["skill"], field: query["field"])
        if let resident = query["resident"] {
            guard let id = UUID(uuidString: resident) else { throw ProblemDetails.badRequest("resident must be a UUID.") }
            filter.residentId = id
        }
        if let text = query["active"] {
            guard let value = Bool(text) else { throw ProblemDetails.badRequest("active must be true or false.") }
            filter.active = value
        }
        let page = try PageRequest(query)
        return try ok(try await database.withConnection { try await RoleStore(logger: logger).list(filter, page: page, on: $0) })
    }

    @Sendable func getRole(_ request: Request, context: AppContext) async throws -> Response {
        let actor = try read(context)
        let id = try uuid(context)
        guard let role = try await database.withConnection({ try await RoleStore(logger: logger).find(id, on: $0) }) else {
            throw RegistryError.notFound(kind: "role", id: id.uuidString.lowercased())
        }
        try visible(role.path, to: actor, kind: "role", id: id.uuidString.lowercased())
        return try ok(role.snapshot)
    }

    // MARK: audit

    @Sendable func auditLog(_ request: Request, context: AppContext) async throws -> Response {
        _ = try actor(context, RegistryAccess.auditReaders, "read the audit log")
        let query = request.queryValues
        var filter = AuditLog.Filter(actor: query["actor"], action: query["action"])
        if let resident = query["resident"] {
            guard let id = UUID(uuidString: resident) else { throw ProblemDetails.badRequest("resident must be a UUID.") }
            filter.residentId = id
        }
        let page = try PageRequest(query)
        return try ok(try await database.withConnection { try await AuditLog(logger: logger).list(filter, page: page, on: $0) })
    }
}

extension FloatingFacts {
    /// The registration as the API and districts send it, to carry a stored one into a partial update.
    var registration: FloatingRegistration {
        FloatingRegistration(origin: origin, arrivedOn: arrivedOn, permitNumber: permitNumber, permitExpiresOn: permitExpiresOn, purpose: purpose)
    }
}
