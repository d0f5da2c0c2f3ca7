// swift-tools-version:6.0
import PackageDescription

// OpenMP comes from Debian's libomp-dev on Linux; elsewhere the kernels build
// without it (the pragmas are then ignored and every kernel stays correct).
let openMPC: [CSetting] = [
    .unsafeFlags(["-O3", "-fopenmp"], .when(platforms: [.linux])),
    .unsafeFlags(["-O3"], .when(platforms: [.macOS]))
]
let openMPLink: [LinkerSetting] = [
    .unsafeFlags(["-L/usr/lib/llvm-14/lib"], .when(platforms: [.linux])),
    .linkedLibrary("omp", .when(platforms: [.linux]))
]

let package = Package(
    name: "SwiftGrad",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SwiftGrad", targets: ["SwiftGrad"]),
        .library(name: "SwiftGradNN", targets: ["SwiftGradNN"]),
        .library(name: "SwiftGradData", targets: ["SwiftGradData"]),
        .executable(name: "mnist", targets: ["MNIST"]),
        .executable(name: "segment", targets: ["Segment"]),
        .executable(name: "bench", targets: ["bench"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .target(
            name: "CKernels",
            path: "CKernels",
            cSettings: openMPC,
            linkerSettings: openMPLink),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "SwiftGrad", dependencies: ["CKernels"]),
        .target(name: "SwiftGradNN", dependencies: ["CKernels", "SwiftGrad"]),
        .target(name: "SwiftGradData", dependencies: ["SwiftGrad", "CZlib"]),
        // Command-line pieces the example tools share (not part of the
        // library; the only target besides them that uses ArgumentParser).
        .target(
            name: "ExampleSupport",
            dependencies: ["SwiftGrad", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/Shared"),
        .executableTarget(
            name: "MNIST",
            dependencies: [
                "SwiftGrad", "SwiftGradNN", "SwiftGradData", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Examples/MNIST",
            resources: []),
        .executableTarget(
            name: "Segment",
            dependencies: [
                "SwiftGrad", "SwiftGradNN", "SwiftGradData", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Examples/Segment"),
        .executableTarget(
            name: "bench",
            dependencies: [
                "CKernels", "SwiftGrad", "SwiftGradNN", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Benchmarks/bench"),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"]),
        .testTarget(name: "SwiftGradTests", dependencies: ["SwiftGrad"]),
        .target(name: "ExamplePlugins", dependencies: ["SwiftGradNN"], path: "Tests/ExamplePlugins"),
        .testTarget(name: "SwiftGradNNTests", dependencies: ["SwiftGradNN", "SwiftGrad", "ExamplePlugins"]),
        .testTarget(name: "SwiftGradDataTests", dependencies: ["SwiftGradData", "SwiftGrad"])
    ]
)
