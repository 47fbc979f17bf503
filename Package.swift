// swift-tools-version: 6.0
import PackageDescription

// The targets and the edges the layering allows (docs/architecture.md draws them). A target
// can import only what it names here, so an edge the layering forbids — the engine reaching
// for the network, the Pareto maths for a model — fails the build instead of a review.
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "Frontier",
    products: [
        .executable(name: "frontier", targets: ["Coordinator"]),
        .executable(name: "frontier-agent", targets: ["Agent"]),
        .library(name: "FrontierEngine", targets: ["FrontierEngine"]),
        .library(name: "FrontierAnalysis", targets: ["FrontierAnalysis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS: fp32 GEMM. System library so the build uses Debian's libopenblas-dev.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // ZeroMQ: the sweep transport (CurveZMQ for authenticated links).
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        // Hand-written GEMM, attention, sparse, int8 and 16-bit kernels, per ISA with run-time
        // dispatch (target attributes per function, so no command-line flags).
        .target(name: "CKernels"),

        // SHA-256 compression with the x86 SHA extensions (run-time CPUID check), for SHA256.
        .target(name: "CSHA256"),

        // Clocks, the JSON dialect, the version string, SHA-256: what every layer shares, and nothing else.
        .target(name: "FrontierSupport", dependencies: ["CSHA256"]),
        // Pareto frontiers, summaries, repeat statistics: pure maths over trial records.
        .target(name: "FrontierAnalysis"),
        // Tensors, safetensors, tokenizer, kernels, the encoder: knows no network, no store.
        .target(name: "FrontierEngine", dependencies: ["CKernels", "CBLAS"]),
        // GLUE and SQuAD readers, metrics and evaluators, on the engine.
        .target(name: "FrontierTasks", dependencies: ["FrontierEngine", "FrontierSupport"]),
        // Pruning, quantisation, early exit, probes: model → model, on the engine and task data.
        .target(name: "FrontierTechniques", dependencies: ["FrontierEngine", "FrontierTasks", "FrontierSupport"]),
        // Backprop, AdamW and fine-tuning on the engine: parameters as flat values with gradients
        // and optimiser state beside them, never inside the inference model.
        .target(name: "FrontierTraining",
                dependencies: ["FrontierEngine", "FrontierTasks", "FrontierSupport", "CKernels", "CBLAS"]),
        // Energy meters, device fingerprint, one measured trial in a worker process.
        .target(name: "FrontierMeasurement",
                dependencies: ["FrontierEngine", "FrontierTasks", "FrontierTechniques", "FrontierSupport", "FrontierAnalysis"]),
        // Checkpoint folders as one content-addressed file: the archive format, the coordinator's
        // store of uploads and the agent's cache. Files only; the wire carries the bytes elsewhere.
        .target(name: "FrontierArtifacts", dependencies: ["FrontierSupport"]),
        // Tables, plots and HTML from trial records; files only.
        .target(name: "FrontierReport", dependencies: ["FrontierAnalysis", "FrontierSupport"]),
        // The live view's small HTTP server (sockets), apart from the report it serves.
        .target(name: "FrontierLiveView", dependencies: ["FrontierReport", "FrontierAnalysis", "FrontierSupport"]),
        // frontier.v1 on the wire (generated code committed).
        .target(name: "FrontierWire", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // ZeroMQ sockets, CURVE keys and the ZAP authenticator: the only target that links ZeroMQ.
        .target(name: "FrontierTransport", dependencies: ["CZMQ"]),
        // Grid files (YAML) → sweep points: the only target that links Yams.
        .target(name: "FrontierGrid",
                dependencies: ["FrontierMeasurement", "FrontierTechniques", "FrontierTasks", "FrontierEngine", "FrontierSupport",
                               .product(name: "Yams", package: "Yams")]),
        // The pure protocol logic of a sweep: the coordinator's scheduler, the agent's state
        // machine, the rows they ask to be stored, the spool, and the typed results' mapping and
        // validation (which need the tasks' metric names and the techniques' vocabulary).
        .target(name: "FrontierSweep",
                dependencies: ["FrontierGrid", "FrontierWire", "FrontierAnalysis", "FrontierReport", "FrontierMeasurement",
                               "FrontierTasks", "FrontierTechniques", "FrontierEngine", "FrontierSupport"]),
        // The SQLite result store: the only target that links GRDB.
        .target(name: "FrontierStore",
                dependencies: ["FrontierSweep", "FrontierGrid", "FrontierAnalysis", "FrontierMeasurement", "FrontierTasks",
                               "FrontierSupport", "FrontierWire", .product(name: "GRDB", package: "GRDB.swift")]),
        // The I/O shells around the sweep logic: coordinator and agent over ZeroMQ.
        .target(name: "FrontierFleet",
                dependencies: ["FrontierSweep", "FrontierStore", "FrontierTransport", "FrontierWire", "FrontierMeasurement",
                               "FrontierGrid", "FrontierReport", "FrontierAnalysis", "FrontierSupport", "FrontierEngine",
                               "FrontierTasks", "FrontierTechniques", "FrontierArtifacts", "FrontierTraining"]),

        .executableTarget(
            name: "Coordinator",
            dependencies: ["FrontierFleet", "FrontierStore", "FrontierSweep", "FrontierGrid", "FrontierReport",
                           "FrontierLiveView", "FrontierAnalysis", "FrontierTransport", "FrontierWire", "FrontierSupport", "FrontierArtifacts",
                           // Trial specs only (`frontier bench` builds simulated ones); it runs no model.
                           "FrontierMeasurement", "FrontierTechniques",
                           argumentParser]),
        .executableTarget(
            name: "Agent",
            dependencies: ["FrontierFleet", "FrontierSweep", "FrontierMeasurement", "FrontierTechniques", "FrontierTasks",
                           "FrontierEngine", "FrontierTraining", "FrontierTransport", "FrontierSupport", "FrontierWire", "FrontierArtifacts",
                           "CKernels", argumentParser]),
        .testTarget(
            name: "FrontierTests",
            dependencies: ["CKernels", "FrontierSupport", "FrontierArtifacts", "FrontierAnalysis", "FrontierEngine", "FrontierTasks", "FrontierTechniques",
                           "FrontierTraining", "CBLAS",
                           "FrontierMeasurement", "FrontierReport", "FrontierLiveView", "FrontierWire", "FrontierTransport",
                           "FrontierGrid", "FrontierSweep", "FrontierStore", "FrontierFleet",
                           .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Golden", "Fixtures"]),
    ]
)
