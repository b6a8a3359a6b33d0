import Testing

/// Every test that needs the real PostgreSQL and broker sits in this suite. They run one at a time:
/// some stop PostgreSQL or kill processes, and two cores are better spent on one drill than on two.
@Suite(.serialized, .enabled(if: Stack.enabled, "needs the local stack: run scripts/test.sh"))
struct IntegrationSuite {}
