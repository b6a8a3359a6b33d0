import ArgumentParser
import CityControl
import Contracts
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each service's readiness, consumer lag, outbox backlog, dead letters and domain gauges.",
        discussion: "Exit status 0 when every service is ready, 1 otherwise.")

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
        subcommands: [List.self, Replay.self])

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
                let letters = try await selection.read(connection)
                say(DeadLetterDesk.table(letters))
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
