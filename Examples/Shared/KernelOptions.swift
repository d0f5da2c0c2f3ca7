import ArgumentParser
import Foundation
import SwiftGrad

/// The kernel options every command-line tool takes (`mnist`, `segment`,
/// `bench`): `--threads N` and `--winograd` / `--no-winograd`. Include them
/// with `@OptionGroup var kernels: KernelOptions` and call `apply()` before
/// the first kernel runs.
public struct KernelOptions: ParsableArguments {
    @Option(help: "Threads for the compute kernels, 1-1024 (default: every core).")
    public var threads: Int?

    @Flag(
        inversion: .prefixedNo,
        help: """
            3x3 stride-1 convolutions by Winograd F(4x4, 3x3) (default), or by direct sums as in PyTorch \
            (--no-winograd): rounding about 1e-5 of the output scale instead of 1e-6, for a quarter of the \
            multiplies.
            """)
    public var winograd = true

    public init() {}

    public func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be in 1...1024, got \(threads)")
        }
    }

    /// The thread count the kernels will use.
    public var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    /// Sets `Kernels.threadCount` and `Kernels.winograd` from the options.
    public func apply() {
        Kernels.threadCount = threadCount
        Kernels.winograd = winograd
    }
}
