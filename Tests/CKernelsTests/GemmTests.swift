import CKernels
import Foundation
import XCTest

/// ck_sgemm against the triple-loop ck_sgemm_ref: shapes around the register
/// tile and cache block edges, every transpose combination, alpha and beta,
/// thread-count independence and every instruction set the CPU has.
final class GemmTests: XCTestCase {
    /// Deterministic values in [-1, 1).
    struct Rng {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        mutating func fill(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    struct Problem {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int
        var alpha: Float, beta: Float
        // Leading dimensions wider than the matrices, to catch stride bugs.
        var lda: Int { (transA ? m : k) + 3 }
        var ldb: Int { (transB ? k : n) + 1 }
        var ldc: Int { n + 2 }
    }

    /// Runs `gemm` on fresh operands; C starts as NaN when beta == 0.
    static func run(
        _ p: Problem, seed: UInt64,
        _ gemm: (
            Int32, Int32, Int32, Int32, Int32, Float,
            UnsafePointer<Float>, Int32, UnsafePointer<Float>, Int32,
            Float, UnsafeMutablePointer<Float>, Int32
        ) -> Void
    ) -> [Float] {
        var rng = Rng(state: seed)
        let a = rng.fill((p.transA ? p.k : p.m) * p.lda)
        let b = rng.fill((p.transB ? p.n : p.k) * p.ldb)
        var c =
            p.beta == 0
            ? [Float](repeating: .nan, count: p.m * p.ldc)
            : rng.fill(p.m * p.ldc)
        gemm(
            p.transA ? 1 : 0, p.transB ? 1 : 0, Int32(p.m), Int32(p.n), Int32(p.k),
            p.alpha, a, Int32(p.lda), b, Int32(p.ldb), p.beta, &c, Int32(p.ldc))
        return c
    }

    static func fast(_ p: Problem, seed: UInt64 = 1) -> [Float] {
        run(p, seed: seed) { ck_sgemm($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) }
    }

    static func reference(_ p: Problem, seed: UInt64 = 1) -> [Float] {
        run(p, seed: seed) { ck_sgemm_ref($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) }
    }

    /// Operands are in [-1, 1), so each of the k float products and sums
    /// adds at most a few ulps of k: this bound is far below any indexing
    /// error (which is of order 1).
    func assertClose(
        _ got: [Float], _ want: [Float], _ p: Problem,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let tol = 1e-6 * Float(p.k + 4) * max(1, abs(p.alpha)) + 1e-6
        var worst: Float = 0
        var firstBad: (Int, Int)?
        for i in 0..<p.m {
            for j in 0..<p.ldc {
                let x = got[i * p.ldc + j], y = want[i * p.ldc + j]
                if j >= p.n {
                    // Padding between rows must be left as it was.
                    if x.bitPattern != y.bitPattern, firstBad == nil { firstBad = (i, j) }
                    continue
                }
                let err = abs(x - y)
                if !(err <= tol * max(1, abs(y))) {
                    if firstBad == nil { firstBad = (i, j) }
                }
                if err > worst || err.isNaN { worst = err }
            }
        }
        if let (i, j) = firstBad {
            XCTFail(
                "\(p) [\(ck_isa_name().map { String(cString: $0) } ?? "?")]: "
                    + "C[\(i)][\(j)] = \(got[i * p.ldc + j]) want \(want[i * p.ldc + j]), "
                    + "worst error \(worst), tolerance \(tol)", file: file, line: line)
        }
    }

    func fast(_ p: Problem, seed: UInt64 = 1) -> [Float] { Self.fast(p, seed: seed) }
    func reference(_ p: Problem, seed: UInt64 = 1) -> [Float] { Self.reference(p, seed: seed) }

    override func tearDown() {
        ck_set_num_threads(1)
        super.tearDown()
    }

    // Edge sizes: 1, mr - 1 / mr / mr + 1 (6), nr - 1 / nr + 1 (8, 16, 32),
    // and k beyond one cache block (kc = 256 for AVX2).
    static let sizes = [1, 2, 5, 6, 7, 15, 16, 17, 31, 33, 64, 97, 130]
    static let ks = [1, 3, 8, 17, 64, 255, 257, 300, 600]

    func randomProblems(count: Int, seed: UInt64) -> [Problem] {
        var state = seed
        func pick<T>(_ xs: [T]) -> T {
            state = state &* 2_862_933_555_777_941_757 &+ 3_037_000_493
            return xs[Int(state >> 33) % xs.count]
        }
        return (0..<count).map { t in
            Problem(
                transA: t & 1 == 1, transB: t & 2 == 2,
                m: pick(Self.sizes), n: pick(Self.sizes), k: pick(Self.ks),
                alpha: pick([1, 0.5, -2]), beta: pick([0, 1, 0.25, -1]))
        }
    }

    func testRandomShapesAllTransposes() {
        for p in randomProblems(count: 160, seed: 42) {
            assertClose(fast(p), reference(p), p)
        }
    }

    func testLargerShapesAllTransposes() {
        ck_set_num_threads(2)
        for ta in [false, true] {
            for tb in [false, true] {
                for (m, n, k) in [
                    (300, 200, 520), (64, 700, 300), (700, 40, 33),
                    (161, 1030, 9)
                ] {
                    let p = Problem(
                        transA: ta, transB: tb, m: m, n: n, k: k,
                        alpha: 0.75, beta: 0.5)
                    assertClose(fast(p), reference(p), p)
                }
            }
        }
    }

    func testBetaZeroOverwritesNaN() {
        for (m, n, k) in [(1, 1, 1), (7, 17, 5), (50, 90, 300)] {
            let p = Problem(
                transA: false, transB: false, m: m, n: n, k: k,
                alpha: 1, beta: 0)
            let c = fast(p)
            for i in 0..<m {
                for j in 0..<n { XCTAssertFalse(c[i * p.ldc + j].isNaN, "\(p) C[\(i)][\(j)]") }
            }
            assertClose(c, reference(p), p)
        }
    }

    func testZeroAlphaOrZeroKOnlyScalesC() {
        for (alpha, k, beta) in [(Float(0), 10, Float(0.5)), (1, 0, 2), (0, 5, 0)] {
            let p = Problem(
                transA: false, transB: true, m: 9, n: 11, k: k,
                alpha: alpha, beta: beta)
            assertClose(fast(p), reference(p), p)
        }
    }

    /// Every split of C (rows, columns, unpacked B) must sum each element in
    /// the same order whatever the thread count.
    func testThreadCountDoesNotChangeBits() {
        // Tall C (split by rows), wide C (by columns), unpacked B (small m),
        // odd sizes with partial tiles everywhere.
        let shapes = [(400, 96, 300), (64, 1200, 280), (40, 4000, 9), (301, 175, 290)]
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let p = Problem(
                    transA: ta, transB: tb, m: m, n: n, k: k,
                    alpha: 1, beta: 0.5)
                ck_set_num_threads(1)
                let one = fast(p)
                for threads in [2, 3] {
                    ck_set_num_threads(Int32(threads))
                    let many = fast(p)
                    XCTAssert(
                        one.elementsEqual(many) { $0.bitPattern == $1.bitPattern },
                        "\(p): \(threads) threads differ from 1")
                }
            }
        }
    }

    /// Concurrent callers each get their own packing buffers.
    func testConcurrentCallers() {
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var matches = 0
        }
        let p = Problem(
            transA: false, transB: false, m: 120, n: 130, k: 140,
            alpha: 1, beta: 0)
        let want = fast(p, seed: 9)
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let got = GemmTests.fast(p, seed: 9)
            let same = got.elementsEqual(want) { $0.bitPattern == $1.bitPattern }
            outcomes.lock.lock()
            if same { outcomes.matches += 1 }
            outcomes.lock.unlock()
        }
        XCTAssertEqual(outcomes.matches, 8)
    }

    func testEveryAvailableISAMatchesReference() {
        let original = String(cString: ck_isa_name())
        defer { XCTAssertEqual(ck_force_isa(original), 0) }
        var tested: [String] = []
        for isa in ["generic", "avx2", "avx512"] where ck_force_isa(isa) == 0 {
            XCTAssertEqual(String(cString: ck_isa_name()), isa)
            tested.append(isa)
            for p in randomProblems(count: 40, seed: 7) {
                assertClose(fast(p), reference(p), p)
            }
            ck_set_num_threads(2)
            let big = Problem(
                transA: false, transB: false, m: 333, n: 277, k: 513,
                alpha: -1, beta: 0.5)
            assertClose(fast(big), reference(big), big)
            ck_set_num_threads(1)
        }
        XCTAssert(tested.contains("generic"))
        XCTAssertEqual(ck_force_isa("sse9"), -1)
    }
}
