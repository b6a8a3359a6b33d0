// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Each service is a library (domain + edges, importable by tests) and a thin executable on top.
func service(_ folder: String, library: String, executable: String, core: [Target.Dependency] = []) -> [Target] {
    [
        .target(
            name: library,
            dependencies: core + [
                "ServiceRuntime", "Messaging", "Storage", "Contracts", "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Services/\(folder)/\(library)",
            swiftSettings: strict
        ),
        .executableTarget(
            name: executable,
            dependencies: [.target(name: library), "ServiceRuntime"],
            path: "Services/\(folder)/\(executable)",
            swiftSettings: strict
        ),
    ]
}

let package = Package(
    name: "city-governance",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "registry", targets: ["registry"]),
        .executable(name: "mediation", targets: ["mediation"]),
        .executable(name: "volunteer-matching", targets: ["volunteer-matching"]),
        .executable(name: "bidding", targets: ["bidding"]),
        .executable(name: "cityctl", targets: ["cityctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"6.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // librdkafka from Debian's librdkafka-dev.
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Kafka",
            swiftSettings: strict
        ),
        .target(
            name: "Contracts",
            dependencies: [],
            path: "Shared/Contracts",
            swiftSettings: strict
        ),
        .target(
            name: "Storage",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Storage",
            swiftSettings: strict
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "Kafka", "Contracts", "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Messaging",
            swiftSettings: strict
        ),
        .target(
            name: "ServiceRuntime",
            dependencies: [
                "Kafka", "Storage", "Messaging", "Contracts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceRuntime",
            swiftSettings: strict
        ),
    ]
    + [
        // The registry's domain rules, free of I/O.
        .target(name: "RegistryCore", dependencies: ["Contracts"], path: "Services/Registry/RegistryCore", swiftSettings: strict),
        // People's mediation: the case lifecycle, deadlines and routing, free of I/O.
        .target(name: "MediationCore", path: "Services/Mediation/MediationCore", swiftSettings: strict),
        // Volunteer matching: the engine that ranks candidates for a need, free of I/O.
        .target(name: "VolunteerCore", path: "Services/VolunteerMatching/VolunteerCore", swiftSettings: strict),
        // Purchased services: the tender lifecycle, sealing, the panel draw and the scoring, free of I/O.
        .target(
            name: "BiddingCore", dependencies: ["Contracts", .product(name: "Crypto", package: "swift-crypto")], path: "Services/Bidding/BiddingCore",
            swiftSettings: strict),
    ]
    + service("Registry", library: "RegistryService", executable: "registry", core: ["RegistryCore"])
    + service("Mediation", library: "MediationService", executable: "mediation", core: ["MediationCore"])
    + service("VolunteerMatching", library: "VolunteerMatchingService", executable: "volunteer-matching", core: ["VolunteerCore"])
    + service("Bidding", library: "BiddingService", executable: "bidding", core: ["BiddingCore"])
    + [
        // The operator's and integrator's tool: district files, the simulator, status, dead letters, look-ups.
        .target(
            name: "CityControl",
            dependencies: [
                "Contracts", "Kafka", "Messaging", "RegistryCore", "ServiceRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/CityControl",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "cityctl",
            dependencies: [
                "CityControl", "Contracts", "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/cityctl",
            swiftSettings: strict
        ),
        // What the messaging drills share: a probe event, its handler and its table.
        .target(
            name: "DrillKit",
            dependencies: [
                "Messaging", "Kafka", "Storage", "Contracts",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DrillKit",
            swiftSettings: strict
        ),
        // Spawned by integration tests so that a relay or consumer can be killed with SIGKILL for real.
        .executableTarget(
            name: "messaging-drill",
            dependencies: [
                "DrillKit", "Messaging", "Kafka", "Storage", "Contracts", "ServiceRuntime",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/Drill",
            swiftSettings: strict
        ),
        // Relay and consumer throughput against the real stack; `bench/run.sh` runs it.
        .executableTarget(
            name: "messaging-bench",
            dependencies: ["DrillKit", "Messaging", "Kafka", "Storage", "Contracts", "ServiceRuntime"],
            path: "bench/MessagingBench",
            swiftSettings: strict
        ),
        // A district's bulk import through the registry, end to end, beside COPY; `bench/registry-ingress.sh` runs it.
        .executableTarget(
            name: "registry-ingress-bench",
            dependencies: [
                "RegistryService", "RegistryCore", "ServiceRuntime", "Messaging", "Kafka", "Storage", "Contracts",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/RegistryIngressBench",
            swiftSettings: strict
        ),
        // The deadline watcher on a million open cases; `bench/mediation.sh` runs it, then wrk against the service.
        .executableTarget(
            name: "mediation-bench",
            dependencies: [
                "MediationService", "ServiceRuntime", "Messaging", "Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/MediationBench",
            swiftSettings: strict
        ),
        // Ranking a need's candidates among a million volunteers, in memory; `bench/matching.sh` runs it.
        .executableTarget(
            name: "matching-bench",
            dependencies: ["VolunteerCore"],
            path: "bench/MatchingBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Kafka", "Contracts", "Storage", "Messaging", "ServiceRuntime", "RegistryCore", "MediationCore", "VolunteerCore", "BiddingCore",
                "RegistryService", "MediationService", "VolunteerMatchingService", "BiddingService", "CityControl",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/UnitTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Kafka", "Contracts", "Storage", "Messaging", "ServiceRuntime", "DrillKit", "BiddingCore", "CityControl",
                "RegistryService", "MediationService", "VolunteerMatchingService", "BiddingService",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/IntegrationTests",
            swiftSettings: strict
        ),
    ]
)
