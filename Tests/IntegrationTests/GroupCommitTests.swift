import Foundation
import PostgresNIO
import Storage
import Testing

extension IntegrationSuite {
    /// Writes that arrive together share a transaction, and still succeed or fail one by one.
    @Suite struct GroupCommitWrites {
        /// A row per job; a job's value must be positive (a CHECK the server enforces), and a value of
        /// 0 is refused by the write itself, as a store refuses a record it does not like.
        private static let migrations = [
            Migration(version: "9001_group_commit_probe", sql: "CREATE TABLE probe_write (id int PRIMARY KEY, value int NOT NULL CHECK (value > 0), txid bigint NOT NULL)")
        ]

        private struct Refused: Error, Equatable {
            var id: Int
        }

        /// Writes the jobs in one statement and answers each with the transaction id it was written in.
        private static func group(_ database: Database, lanes: Int) -> GroupCommit<(id: Int, value: Int), Int64> {
            GroupCommit(name: "probe", database: database, lanes: lanes, logger: Stack.logger) { jobs, connection in
                let accepted = jobs.filter { $0.value != 0 }
                var txid: Int64 = 0
                for try await value in try await connection.query("SELECT txid_current()", logger: Stack.logger).decode(Int64.self) { txid = value }
                // Slow enough that the other writers queue behind it.
                try await connection.query("SELECT pg_sleep(0.02)", logger: Stack.logger)
                try await connection.query(
                    "INSERT INTO probe_write (id, value, txid) SELECT i, v, \(txid) FROM unnest(\(accepted.map(\.id))::int[], \(accepted.map(\.value))::int[]) AS u(i, v)",
                    logger: Stack.logger)
                return jobs.map { $0.value == 0 ? .failure(Refused(id: $0.id)) : .success(txid) }
            }
        }

        @Test func concurrentWritesShareTransactionsAndEachGetsItsOwnAnswer() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("group"), migrations: Self.migrations) { database in
                let writes = Self.group(database, lanes: 1)
                let answers = await withTaskGroup(of: (Int, Result<Int64, any Error>).self) { group in
                    for id in 1...60 {
                        group.addTask { (id, await Result(catching: { try await writes.submit((id: id, value: id % 20 == 0 ? 0 : id)) })) }
                    }
                    var answers: [Int: Result<Int64, any Error>] = [:]
                    for await (id, answer) in group { answers[id] = answer }
                    return answers
                }
                #expect(answers.count == 60)
                for (id, answer) in answers {
                    if id % 20 == 0 {
                        #expect(throws: Refused(id: id)) { try answer.get() }
                    } else {
                        let txid = try answer.get()
                        #expect(try await Stack.count(database, "SELECT count(*) FROM probe_write WHERE id = \(id) AND txid = \(txid)") == 1)
                    }
                }
                #expect(try await Stack.count(database, "SELECT count(*) FROM probe_write") == 57, "the refused three wrote nothing, the rest once")
                let transactions = try await Stack.count(database, "SELECT count(DISTINCT txid) FROM probe_write")
                #expect(transactions < 30, "one lane and a 20 ms write: later writers waited and shared (\(transactions) transactions for 57 rows)")
            }
        }

        @Test func aJobTheServerRefusesFailsAloneAndItsNeighboursAreWritten() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("group"), migrations: Self.migrations) { database in
                let writes = Self.group(database, lanes: 1)
                // Hold the only lane so the next five queue and go in one transaction, which the CHECK
                // on the negative value then fails as a whole.
                let answers = await withTaskGroup(of: (Int, Result<Int64, any Error>).self) { group in
                    group.addTask { (100, await Result(catching: { try await writes.submit((id: 100, value: 1)) })) }
                    try? await Task.sleep(for: .milliseconds(5))
                    for id in 1...5 {
                        group.addTask { (id, await Result(catching: { try await writes.submit((id: id, value: id == 3 ? -1 : id)) })) }
                    }
                    var answers: [Int: Result<Int64, any Error>] = [:]
                    for await (id, answer) in group { answers[id] = answer }
                    return answers
                }
                let refused = try #require(answers[3])
                #expect(throws: PSQLError.self) { try refused.get() }
                for id in [1, 2, 4, 5, 100] { #expect(throws: Never.self) { try answers[id]?.get() } }
                #expect(try await Stack.count(database, "SELECT count(*) FROM probe_write") == 5)
                #expect(try await Stack.count(database, "SELECT count(*) FROM probe_write WHERE id = 3") == 0)
            }
        }
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
