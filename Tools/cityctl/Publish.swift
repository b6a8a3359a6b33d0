import ArgumentParser
import CityControl
import Contracts
import Foundation

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a district's file of events and publish it on district.inbound.",
        discussion: """
            The whole file is checked first (text the database can store: UTF-8 without U+0000; the district JSON Schemas, the
            records' types, the registry's field rules, the district's scope); any bad line is reported with its number and
            nothing is published. Events keep a stable id
            (derived from the record unless given), so publishing a file twice is harmless.
            """)

    @Argument(help: "A JSON Lines file (one event per line) or a CSV file; - reads standard input.")
    var file: String

    @Option(name: .long, help: "The district publishing (e.g. D01); events carry source /district/<code>.")
    var district: String

    @Option(name: .long, help: "jsonl or csv (default: from the file name).")
    var format: DistrictFile.Format?

    @Option(name: .long, help: "The event type of every line, when lines hold records alone (CSV without a type column).")
    var type: String?

    @Option(name: .long, help: "Folder of the district JSON Schemas (default: CITY_SCHEMAS_DIR or deploy/schemas/district-inbound).")
    var schemas: String?

    @Option(name: .long, help: "Publish on another topic than district.inbound (a staging topic).")
    var topic = Topic.districtInbound.name

    @Flag(name: .long, help: "Check only; publish nothing.")
    var dryRun = false

    @Option(name: .long, help: "Problems to print before summarising the rest.")
    var maxProblems = 50

    @OptionGroup var connection: Connection

    func run() async throws {
        try await guarded {
            // Read as bytes: a line that is not UTF-8, or holds U+0000, is refused by its number below
            // rather than silently repaired.
            let data: Data
            do {
                data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw Stop(code: 66, message: "cannot read \(file): \(error.localizedDescription)")
            }
            let catalogue: DistrictSchemas
            do { catalogue = try DistrictSchemas.locate(explicit: schemas, environment: connection.environment) } catch {
                throw Stop(code: 72, message: "\(error)")
            }
            if let type, !DistrictInbound.allTypes.contains(EventType(rawValue: type)) {
                throw Stop(code: 64, message: "unknown event type \(type); one of \(DistrictInbound.allTypes.map(\.rawValue).joined(separator: ", "))")
            }
            let reader = DistrictFile(district: district, schemas: catalogue)
            let report = reader.read(data, format: format ?? .guess(path: file), type: type.map { EventType(rawValue: $0) })
            guard report.isValid else {
                for problem in report.problems.prefix(maxProblems) { note(problem.description) }
                if report.problems.count > maxProblems { note("… and \(report.problems.count - maxProblems) more lines with problems") }
                throw Stop(code: 65, message: "\(report.problems.count) line(s) with problems in \(file); nothing was published")
            }
            let counts = Dictionary(grouping: report.events, by: \.event.type.rawValue).mapValues(\.count)
            say("\(file): \(report.events.count) events checked (\(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))")
            if dryRun || report.events.isEmpty { return }

            let started = ContinuousClock.now
            let bar = ProgressBar(total: report.events.count, label: "publishing")
            let delivered = try await connection.withProducer { producer in
                do {
                    return try await DistrictPublisher(producer: producer, topic: topic).publish(report.events, district: district) { bar.update($0) }
                } catch {
                    bar.finish()
                    throw Stop(code: (error as? DistrictPublisher.Failure)?.beforeSending == true ? 65 : 69, message: "\(error)")
                }
            }
            bar.finish()
            let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
            say("published \(delivered) events on \(topic) as district \(district) in \(String(format: "%.1f", seconds)) s")
        }
    }
}

extension DistrictFile.Format: ExpressibleByArgument {}
