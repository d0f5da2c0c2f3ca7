import CKernels
import Foundation

/// A float buffer filled with deterministic values in [-1, 1), freed by hand
/// (the benchmark keeps a handful alive for the whole run).
struct FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, seed: UInt64 = 1) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        var state = seed
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            pointer[i] = Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    func free() { pointer.deallocate() }
}

/// Timings of one pass, in milliseconds.
struct Timing {
    let median: Double, min: Double, max: Double

    /// Runs `body` `warmup` times untimed, then `iterations` times timed.
    init(warmup: Int, iterations: Int, _ body: () -> Void) {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for _ in 0..<Swift.max(iterations, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
        }
        samples.sort()
        let n = samples.count
        median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2
        min = samples[0]
        max = samples[n - 1]
    }
}

/// What a pass's throughput is measured in: floating-point work (GFLOP/s,
/// also shown as a share of peak) or memory traffic (GB/s, pools).
enum Work {
    case flops(Double)
    case bytes(Double)
}

/// One measured pass, printed as a table row or a JSON line.
struct BenchResult {
    let caseID: String, op: String, pass: String, shape: String
    let timing: Timing
    let work: Work
    /// The conv algorithm the pass ran (ck_conv2d_algorithm), or "-".
    let algorithm: String

    var gflops: Double? {
        if case .flops(let f) = work { return f / (timing.median * 1e-3) * 1e-9 }
        return nil
    }

    var gbps: Double? {
        if case .bytes(let b) = work { return b / (timing.median * 1e-3) * 1e-9 }
        return nil
    }

    func json(peak: Double) -> String {
        func num(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "null" }
            return String(format: "%.4f", x)
        }
        var fields = [
            "\"case\": \"\(caseID)\"", "\"op\": \"\(op)\"", "\"pass\": \"\(pass)\"",
            "\"shape\": \"\(shape)\"",
            "\"ms_median\": \(num(timing.median))", "\"ms_min\": \(num(timing.min))",
            "\"ms_max\": \(num(timing.max))", "\"gflops\": \(num(gflops))"
        ]
        if let gbps { fields.append("\"gbps\": \(num(gbps))") }
        if let g = gflops, peak > 0 { fields.append("\"pct_peak\": \(num(100 * g / peak))") }
        if algorithm != "-" { fields.append("\"algorithm\": \"\(algorithm)\"") }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// Left-aligns (negative width) or right-aligns text in a column.
    static func column(_ text: String, _ width: Int) -> String {
        let pad = String(repeating: " ", count: Swift.max(0, abs(width) - text.count))
        return width < 0 ? text + pad : pad + text
    }

    static let widths = [-4, -22, -16, 10, 10, 10, 15, 7, -15]

    static func row(_ cells: [String]) -> String {
        zip(cells, widths).map { column($0, $1) }.joined(separator: " ")
    }

    static let tableHeader = row(
        ["case", "op", "pass", "median ms", "min ms", "max ms", "throughput", "% peak", " algorithm"])

    func tableRow(peak: Double) -> String {
        let throughput: String
        var share = "-"
        if let g = gflops {
            throughput = String(format: "%.1f GFLOP/s", g)
            if peak > 0 { share = String(format: "%.1f", 100 * g / peak) }
        } else {
            throughput = String(format: "%.1f GB/s", gbps ?? 0)
        }
        let ms = [timing.median, timing.min, timing.max].map { String(format: "%.3f", $0) }
        return Self.row([caseID, op, pass] + ms + [throughput, share, " " + algorithm])
    }
}
