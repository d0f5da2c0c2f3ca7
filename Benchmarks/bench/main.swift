import ArgumentParser
import CKernels
import ExampleSupport
import Foundation

/// Kernel throughput: cases a-k (conv, pooling, transposed conv, sgemm),
/// each pass warmed up then timed over fixed iterations, reported as
/// median/min/max ms and GFLOP/s (GB/s for pools) with the share of the
/// machine's peak measured at start.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Times the SwiftGrad C kernels (cases a-k).",
        discussion: """
            Example: swift run -c release bench --threads 2
            With --no-winograd the 3x3 stride-1 convs take the direct paths; GFLOP/s always count the direct \
            method's FLOPs.
            """)

    @OptionGroup var kernels: KernelOptions

    @Option(help: "Comma-separated case letters or op substrings (e.g. a,k or pool,sgemm).")
    var filter: String?

    @Option(help: "Timed iterations per pass.")
    var iterations: Int = 10

    @Option(help: "Untimed warm-up iterations per pass.")
    var warmup: Int = 2

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
    }

    func run() throws {
        kernels.apply()
        let threadCount = Int(ck_get_num_threads())
        let filters = (filter ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let cases = allCases.filter { $0.matches(filters) }
        if cases.isEmpty { throw ValidationError("--filter \(filter ?? "") matches no case") }

        let isa = String(cString: ck_isa_name())
        let peak = ck_measure_peak_gflops(Int32(threadCount))
        // In JSON mode stdout carries only the JSON lines.
        let info = String(
            format: "bench: isa %@, %d threads, measured peak %.1f GFLOP/s, "
                + "%d warm-up + %d timed iterations, winograd %@", isa, threadCount, peak,
            warmup, iterations, kernels.winograd ? "on" : "off")
        if json {
            FileHandle.standardError.write((info + "\n").data(using: .utf8)!)
        } else {
            print(info)
            print(BenchResult.tableHeader)
        }
        for benchCase in cases {
            let (passes, release) = benchCase.prepare()
            for (pass, work, body) in passes {
                let timing = Timing(warmup: warmup, iterations: iterations, body)
                let result = BenchResult(
                    caseID: benchCase.id, op: benchCase.op, pass: pass,
                    shape: benchCase.shape, timing: timing, work: work,
                    algorithm: benchCase.algorithm(pass))
                print(json ? result.json(peak: peak) : result.tableRow(peak: peak))
                fflush(nil)
            }
            release()
        }
    }
}

Bench.main()
