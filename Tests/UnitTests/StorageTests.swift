import Kafka
import Messaging
import Storage
import Testing

@Suite struct SQLScripts {
    @Test func statementsSplitAtTopLevelSemicolonsOnly() {
        let script = """
            CREATE TABLE a (note text DEFAULT 'x;y');  -- trailing; comment
            /* block; comment */ CREATE TABLE "b;c" (id int);
            CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$;
            DO $$ BEGIN PERFORM 1; END $$;
            SELECT 'it''s; fine';
            -- only a comment;
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 5)
        #expect(statements[0] == "CREATE TABLE a (note text DEFAULT 'x;y')")
        #expect(statements[1].hasSuffix(#"CREATE TABLE "b;c" (id int)"#))
        #expect(statements[2].contains("$body$ SELECT 'a;b' $body$"))
        #expect(statements[3] == "DO $$ BEGIN PERFORM 1; END $$")
        #expect(statements[4] == "SELECT 'it''s; fine'")
    }

    @Test func positionalParametersAreNotDollarQuotes() {
        #expect(SQLScript.statements("SELECT $1; SELECT $2").count == 2)
    }
}

@Suite struct SchemaNames {
    @Test(arguments: ["registry", "volunteer_matching", "_t1"])
    func plainIdentifiersAreAccepted(name: String) {
        #expect(DatabaseConfig.isValidSchemaName(name))
    }

    @Test(arguments: ["", "Registry", "a-b", "a;drop table x", "1abc", String(repeating: "a", count: 64)])
    func anythingElseIsRefused(name: String) {
        #expect(!DatabaseConfig.isValidSchemaName(name))
    }
}

@Suite struct OutboxLanes {
    @Test func aKeyAlwaysFallsInTheSameLaneAndLanesSpread() {
        let lanes = (0..<10_000).map { Outbox.lane(for: "aggregate-\($0)") }
        #expect(lanes.allSatisfy { (0..<Outbox.laneCount).contains($0) })
        #expect(Outbox.lane(for: "household-42") == Outbox.lane(for: "household-42"))
        #expect(Set(lanes).count == Int(Outbox.laneCount))
        // Stable across processes and releases: replicas must agree.
        #expect(advisoryKey(for: "outbox:registry") == advisoryKey(for: "outbox:registry"))
        #expect(fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }
}

@Suite struct ConsumerLagFigures {
    @Test func lagIsWhatIsOnTheBrokerPastThePosition() {
        #expect(ConsumerLag.records(highWatermark: 100, lowWatermark: 0, position: 60, committed: nil) == 40)
        #expect(ConsumerLag.records(highWatermark: 100, lowWatermark: 0, position: 100, committed: nil) == 0)
    }

    @Test func beforeTheFirstReadTheCommittedOffsetOrTheLowWatermarkCounts() {
        #expect(ConsumerLag.records(highWatermark: 100, lowWatermark: 10, position: -1001, committed: 70) == 30)
        #expect(ConsumerLag.records(highWatermark: 100, lowWatermark: 10, position: -1001, committed: nil) == 90)
    }

    @Test func unknownWatermarksGiveNoFigureAndNothingIsNegative() {
        #expect(ConsumerLag.records(highWatermark: -1, lowWatermark: -1, position: 5, committed: nil) == nil)
        #expect(ConsumerLag.records(highWatermark: 1, lowWatermark: 0, position: 500, committed: nil) == 0)
    }
}
