// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Frontier",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "frontier", targets: ["Coordinator"]),
        .executable(name: "frontier-agent", targets: ["Agent"]),
        .library(name: "FrontierCore", targets: ["Core"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS: fp32 GEMM. System library so the build uses Debian's libopenblas-dev.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // ZeroMQ: the sweep transport (CurveZMQ for authenticated links).
        .systemLibrary(
            name: "CZMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // Hand-written element-wise and attention kernels, compiled per ISA with runtime dispatch.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast"])]
        ),
        .target(
            name: "Core",
            dependencies: [
                "CBLAS", "CKernels", "CZMQ",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Core"
        ),
        .executableTarget(
            name: "Coordinator",
            dependencies: [
                "Core",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "Agent",
            dependencies: [
                "Core",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CoreTests",
            dependencies: ["Core"],
            exclude: ["Golden", "Fixtures"]
        ),
    ]
)
