import Foundation
import XCTest

@testable import SwiftGrad

final class TapeTests: XCTestCase {
    func testSharedSubexpressionAccumulates() {
        // f(x) = sum(y * y + y) with y = 3x: df/dx = 3 * (2y + 1).
        let x = Tensor([1, -2, 0.5])
        let g = gradient(at: x) { x in
            let y = x * 3
            return (y * y + y).sum()
        }
        assertClose(g, Tensor(x.scalars.map { 3 * (2 * 3 * $0 + 1) }), "shared subexpression")
    }

    func testUnusedBranchGetsZeroGradient() {
        let (value, grads) = valueWithGradient(at: Tensor([1, 2]), Tensor([5, 6])) { a, b in
            _ = (b * 10).exp()  // computed, never used in the result
            return (a * a).sum()
        }
        XCTAssertEqual(value.scalar, 5)
        XCTAssertEqual(grads.0.scalars, [2, 4])
        XCTAssertEqual(grads.1.scalars, [0, 0])
    }

    func testNothingRecordedOutsideGradientComputation() {
        let x = Tensor([1, 2, 3])
        let y = (x * x).relu()
        XCTAssertFalse(Tape.isRecording)
        XCTAssertNil(y.tracking, "ops outside a gradient computation must not be tracked")
    }

    func testDetachAndNoGradientRegionStopGradients() {
        let x = Tensor([2, 3])
        let g1 = gradient(at: x) { x in (x * x.detached).sum() }
        XCTAssertEqual(g1.scalars, [2, 3])
        let g2 = gradient(at: x) { x in
            let c = withoutGradient { x * x }
            return (x + c).sum()
        }
        XCTAssertEqual(g2.scalars, [1, 1])
    }

    func testNamedParameters() {
        let params: [String: Tensor] = ["w": Tensor([1, 2]), "b": Tensor([0.5])]
        let (value, grads) = valueWithGradient(at: params) { p in
            (p["w"]! * Tensor([3, 4]) + p["b"]!).sum()
        }
        XCTAssertEqual(value.scalar, 1 * 3 + 2 * 4 + 1)
        XCTAssertEqual(grads["w"]?.scalars, [3, 4])
        XCTAssertEqual(grads["b"]?.scalars, [2])
        XCTAssertEqual(grads.names, ["b", "w"])
    }

    func testNestedComputationsDoNotInterfere() {
        let outer = gradient(at: Tensor([2])) { x in
            // An inner, independent gradient computation in the middle.
            let inner = gradient(at: Tensor([5])) { y in (y * y * y).sum() }
            XCTAssertEqual(inner.scalar, 75)
            return (x * x).sum() + inner.sum()
        }
        XCTAssertEqual(outer.scalar, 4)
    }

    func testConcurrentComputationsOnThreads() {
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: 8)
        defer { results.deallocate() }
        nonisolated(unsafe) let out = results
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let g = gradient(at: Tensor([Float(i)])) { x in
                var acc = x
                for _ in 0..<50 { acc = acc + x * 0.5 }
                return acc.sum()
            }
            out[i] = g.scalar
        }
        for i in 0..<8 { XCTAssertEqual(results[i], 26, "thread \(i)") }
    }

    func testValueIsDetachedAndSeedMustBeScalar() {
        let (value, _) = valueWithGradient(at: Tensor([1, 2])) { $0.sum() }
        XCTAssertNil(value.tracking)
    }
}

final class InputGradientSkipTests: XCTestCase {
    /// A conv whose input is a constant (a first layer) still gets its weight
    /// gradient right although the input gradient is skipped.
    func testConvWeightGradientWithConstantInput() {
        let x = awayFromZero([2, 2, 5, 5], seed: 30)
        let w = awayFromZero([3, 2, 3, 3], seed: 31)
        let skipped = gradient(at: w) { w in conv2d(x, weight: w, padding: 1).sum() }
        let full = gradient(at: [x, w]) { t in conv2d(t[0], weight: t[1], padding: 1).sum() }[1]
        assertClose(skipped, full, "weight gradient")
    }
}
