import ArgumentParser
import CityControl
import Contracts
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each service's readiness, consumer lag, outbox backlog, dead letters and domain gauges.",
        discussion: """
            Exit status 0 when every service is ready and no consumer partition is stalled, 1 otherwise. A stalled
            partition is listed with the record it waits on (topic/partition/offset), for `cityctl dead-letters park`.
            """)

    @OptionGroup var connection: Connection

    func run() async throws {
        try await guarded {
            let endpoints = try connection.endpoints()
            let api = CityAPI(token: nil)
            let services = await withTaskGroup(of: (Int, ServiceStatus).self) { group in
                for (index, service) in endpoints.all.enumerated() {
                    group.addTask { (index, await ServiceStatus.fetch(name: service.name, url: service.url, api: api)) }
                }
                var found: [(Int, ServiceStatus)] = []
                for await result in group { found.append(result) }
                return found.sorted { $0.0 < $1.0 }.map(\.1)
            }
            say(ServiceStatus.table(services))
            if !services.allSatisfy(\.healthy) { throw ExitCode(1) }
        }
    }
}

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the records consumers set aside, or replay them after a fix.",
        subcommands: [List.self, Replay.self, Park.self, Parked.self])

    struct Selection: ParsableArguments {
        @Option(name: .long, help: "The topic whose dead letters to read (default: all five).")
        var topic: [String] = []

        @Option(name: .long, help: "Only this reason kind (e.g. invalid, out_of_scope, unknown_type).")
        var kind: String?

        @Option(name: .long, help: "Only this event type.")
        var type: String?

        @Option(name: .customLong("event-id"), help: "Only this event id.")
        var eventID: String?

        @Option(name: .long, help: "Only those set aside by this consumer group.")
        var group: String?

        @Option(name: .long, help: "Only records with this key (on district.inbound: the district code).")
        var key: String?

        /// The named topics (a `.dead-letter` suffix is optional), or the suite's five.
        var topics: [String] {
            topic.isEmpty ? Topic.allCases.map(\.name) : topic.map { $0.hasSuffix(".dead-letter") ? String($0.dropLast(".dead-letter".count)) : $0 }
        }

        var filter: DeadLetter.Filter { DeadLetter.Filter(kind: kind, type: type, eventID: eventID, group: group, key: key) }

        func read(_ connection: Connection) async throws -> [DeadLetter] {
            let desk = DeadLetterDesk(config: try connection.kafka(), logger: connection.logger)
            var letters: [DeadLetter] = []
            for topic in topics {
                do {
                    letters += try await desk.read(topic).filter(filter.matches)
                } catch {
                    throw Stop(code: 69, message: error.description)
                }
            }
            return letters
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters with their reasons.")

        @OptionGroup var selection: Selection
        @OptionGroup var connection: Connection

        func run() async throws {
            try await guarded {
                let letters = try await selection.read(connection)
                say(DeadLetterDesk.table(letters))
                say("\(letters.count) dead letter(s)")
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back on their topics, once the cause is fixed.",
            discussion: """
                Each record goes back with its key, value and event id, marked as a replay: the consumer that refused it
                tries again; consumers that took it skip it. A record refused again is dead-lettered again.
                """)

        @OptionGroup var selection: Selection
        @Flag(name: .long, help: "Show what would be replayed; send nothing.")
        var dryRun = false
        @OptionGroup var connection: Connection

        func run() async throws {
            try await guarded {
                let found = try await selection.read(connection)
                say(DeadLetterDesk.table(found))
                let letters = found.filter { !$0.truncated }
                if letters.count < found.count {
                    say("\(found.count - letters.count) dead letter(s) hold only a bounded copy of a record too large to keep; they are not replayed: ask the sender to publish them again")
                }
                if dryRun || letters.isEmpty {
                    say("\(letters.count) dead letter(s) would be replayed")
                    return
                }
                let desk = DeadLetterDesk(config: try connection.kafka(), logger: connection.logger)
                let sent = try await connection.withProducer { producer in
                    do { return try await desk.replay(letters, producer: producer) } catch { throw Stop(code: 69, message: "\(error)") }
                }
                say("replayed \(sent) record(s)")
            }
        }
    }
}

extension DeadLetters {
    /// Which service a park or a listing goes to.
    enum ServiceName: String, ExpressibleByArgument, CaseIterable {
        case registry, mediation, volunteerMatching = "volunteer-matching", bidding

        func url(_ endpoints: ServiceEndpoints) -> URL {
            switch self {
            case .registry: endpoints.registry
            case .mediation: endpoints.mediation
            case .volunteerMatching: endpoints.volunteerMatching
            case .bidding: endpoints.bidding
            }
        }
    }

    struct Park: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set one record aside by where it sits: the service's consumer dead-letters it as `parked`.",
            discussion: """
                For a record that stalls a partition (`cityctl status` lists it with its topic, partition and offset).
                The service keeps who parked it, when and why; the consumer that meets the record sends it to the
                dead-letter topic with kind `parked` and moves on. Replay it later with
                `cityctl dead-letters replay --topic TOPIC --kind parked`. Needs a city-wide city-admin token
                (CITY_TOKEN, or one minted from AUTH_JWT_SECRET).
                """)

        @Option(name: .long, help: "The service whose consumer holds the record: registry, mediation, volunteer-matching or bidding.")
        var service: ServiceName
        @Option(name: .long, help: "The record's topic.")
        var topic: String
        @Option(name: .long, help: "The record's partition.")
        var partition: Int32
        @Option(name: .long, help: "The record's offset.")
        var offset: Int64
        @Option(name: .long, help: "Only this consumer group of the service (default: every group that reads the topic).")
        var group: String?
        @Option(name: .long, help: "Why it is set aside; kept with your name.")
        var reason: String
        @OptionGroup var connection: Connection

        func run() async throws {
            try await guarded {
                let base = service.url(try connection.endpoints())
                var request: [String: JSONValue] = [
                    "topic": .string(topic), "partition": .integer(Int64(partition)), "offset": .integer(offset), "reason": .string(reason),
                ]
                if let group { request["group"] = .string(group) }
                let api = try await connection.api()
                do {
                    let parked = try await api.post(base.appendingPathComponent("api/v1/operations/parked-records"), json: JSONValue.object(request).canonicalData())
                    say(
                        "parked \(topic)/\(partition)/\(offset) on \(service.rawValue) by \(parked["parkedBy"]?.stringValue ?? "?"): "
                            + "the consumer dead-letters it as `parked` when it meets it")
                } catch let error as CityAPIError {
                    throw Stop(code: 69, message: error.description)
                }
            }
        }
    }

    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the records operators parked on a service, newest first.")

        @Option(name: .long, help: "registry, mediation, volunteer-matching or bidding.")
        var service: ServiceName
        @OptionGroup var connection: Connection

        func run() async throws {
            try await guarded {
                let base = service.url(try connection.endpoints())
                let api = try await connection.api()
                let items: [JSONValue]
                do {
                    let found = try await api.json(base.appendingPathComponent("api/v1/operations/parked-records"))
                    guard case .array(let list)? = found["items"] else { throw Stop(code: 69, message: "the answer has no items") }
                    items = list
                } catch let error as CityAPIError {
                    throw Stop(code: 69, message: error.description)
                }
                let rows = items.map(Self.row)
                say(TextTable.render([["TOPIC/PARTITION/OFFSET", "PARKED AT", "BY", "DEAD-LETTERED", "REASON"]] + rows))
                say("\(items.count) parked record(s)")
            }
        }

        static func row(_ item: JSONValue) -> [String] {
            let place = [item["topic"]?.stringValue ?? "?", ServiceStatus.integer(item["partition"]), ServiceStatus.integer(item["offset"])]
            return [
                place.joined(separator: "/"), item["parkedAt"]?.stringValue ?? "?", item["parkedBy"]?.stringValue ?? "?",
                item["deadLetteredAt"]?.stringValue ?? "waiting", item["reason"]?.stringValue ?? "",
            ]
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a mediation case, a service need or a tender (with an id), or list recent ones.")

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case `case`, cases, need, needs, tender, tenders
    }

    @Argument(help: "case, need or tender (or the plural to list).")
    var kind: Kind

    @Argument(help: "The id to show.")
    var id: String?

    @Option(name: .long, help: "How many to list.")
    var limit = 20

    @Flag(name: .long, help: "Print the service's JSON as it is.")
    var json = false

    @OptionGroup var connection: Connection

    func run() async throws {
        try await guarded {
            let endpoints = try connection.endpoints()
            let (base, path, columns): (URL, String, [String]) =
                switch kind {
                case .case, .cases: (endpoints.mediation, "api/v1/cases", ["id", "status", "category", "grid", "deadline"])
                case .need, .needs: (endpoints.volunteerMatching, "api/v1/needs", ["id", "status", "kind", "grid", "urgency"])
                case .tender, .tenders: (endpoints.bidding, "api/v1/tenders", ["id", "status", "title", "deadline"])
                }
            let api = try await connection.api()
            do {
                if let id {
                    guard UUID(uuidString: id) != nil else { throw Stop(code: 64, message: "'\(id)' is not an id (a UUID)") }
                    let found = try await api.json(base.appendingPathComponent(path).appendingPathComponent(id))
                    say(Self.pretty(found))
                } else {
                    let items = try await api.list(base.appendingPathComponent(path), limit: limit)
                    if json {
                        say(Self.pretty(.array(items)))
                    } else {
                        let rows = items.map { item in columns.map { Self.cell(item, $0) } }
                        say(TextTable.render([columns.map { $0.uppercased() }] + rows))
                    }
                }
            } catch let error as CityAPIError {
                if case .status(_, 404, _) = error { throw Stop(code: 1, message: "no \(kind.rawValue) \(id ?? "")") }
                throw Stop(code: 69, message: error.description)
            }
        }
    }

    /// A cell: the field, the field of the item's location, or the first field whose name contains it.
    static func cell(_ item: JSONValue, _ column: String) -> String {
        guard case .object(let members) = item else { return "-" }
        // Places sit in a nested `location`; deadlines are named `deadlineAt`, `submissionDeadline`, ...
        let value = members[column] ?? members["location"]?[column]
            ?? members.sorted { $0.key < $1.key }.first { $0.key.lowercased().contains(column) }?.value
        switch value {
        case .string(let text)?: return String(text.prefix(40))
        case .integer(let number)?: return "\(number)"
        case .number(let number)?: return "\(number)"
        case .bool(let flag)?: return "\(flag)"
        default: return "-"
        }
    }

    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}
