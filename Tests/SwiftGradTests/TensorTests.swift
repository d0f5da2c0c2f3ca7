import XCTest

@testable import SwiftGrad

final class TensorTests: XCTestCase {
    func testCreationAndValueSemantics() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 10 }
        XCTAssertEqual(a.scalars, [1, 2, 3, 4], "copy-on-write must leave the original alone")
        XCTAssertEqual(b.scalars, [10, 2, 3, 4])
        XCTAssertEqual(Tensor.zeros([3]).scalars, [0, 0, 0])
        XCTAssertEqual(Tensor.ones([2]).scalars, [1, 1])
        XCTAssertEqual(Tensor.filled([2], with: 7).scalars, [7, 7])
        XCTAssertEqual(a[1, 0], 3)
    }

    func testSeededRandomIsReproducible() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42), g3 = SeededGenerator(seed: 43)
        let x = Tensor.normal([100], generator: &g1)
        XCTAssertEqual(x.scalars, Tensor.normal([100], generator: &g2).scalars)
        XCTAssertNotEqual(x.scalars, Tensor.normal([100], generator: &g3).scalars)
        let m = x.mean().scalar
        XCTAssertLessThan(Swift.abs(m), 0.3)
    }

    func testInitializersHaveExpectedSpread() {
        var g = SeededGenerator(seed: 1)
        let w = Tensor.glorotUniform([64, 32, 3, 3], fanIn: 32 * 9, fanOut: 64 * 9, generator: &g)
        let limit = Float((6.0 / Double(32 * 9 + 64 * 9)).squareRoot())
        XCTAssertLessThanOrEqual(w.scalars.map(Swift.abs).max()!, limit)
        let h = Tensor.heNormal([256, 256], fanIn: 256, generator: &g)
        let variance = (h * h).mean().scalar
        XCTAssertEqual(variance, 2.0 / 256, accuracy: 0.0008)
        XCTAssertEqual(Tensor.fans([64, 32, 3, 3]).fanIn, 288)
    }

    func testShapeOps() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(x.reshaped(to: [3, -1]).shape, [3, 2])
        XCTAssertEqual(x.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(x.slice(axis: 1, 1..<3).scalars, [2, 3, 5, 6])
        XCTAssertEqual(Tensor.concatenate([x, x], axis: 1).scalars, [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        XCTAssertEqual(x.expandingShape(at: 0).shape, [1, 2, 3])
        XCTAssertEqual(x.expandingShape(at: 0).squeezed().shape, [2, 3])
        XCTAssertEqual(Tensor.zeros([2, 3, 4, 5]).flattened().shape, [2, 60])
    }

    func testLargeConcatenateAndSliceCopyInParallelPieces() {
        // Runs past the copy kernel's 65,536-float pieces, several rows, so
        // the parallel, chunked path runs; checked element by element.
        let (rows, a, b) = (3, 70_001, 2_003)
        let x = Tensor(shape: [rows, a], scalars: (0..<(rows * a)).map { Float($0) })
        let y = Tensor(shape: [rows, b], scalars: (0..<(rows * b)).map { -Float($0) })
        let joined = Tensor.concatenate([x, y], axis: 1)
        XCTAssertEqual(joined.shape, [rows, a + b])
        let j = joined.scalars
        var expected = [Float]()
        for r in 0..<rows {
            expected += (0..<a).map { Float(r * a + $0) }
            expected += (0..<b).map { -Float(r * b + $0) }
        }
        XCTAssertEqual(j, expected)
        XCTAssertEqual(joined.slice(axis: 1, 0..<a).scalars, x.scalars)
        XCTAssertEqual(joined.slice(axis: 1, a..<(a + b)).scalars, y.scalars)
        XCTAssertEqual(
            joined.slice(axis: 1, 5..<70_000).scalars,
            (0..<rows).flatMap { r in (5..<70_000).map { Float(r * a + $0) } })
    }

    func testReductions() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        XCTAssertEqual(x.sum().scalar, 21)
        XCTAssertEqual(x.sum(alongAxis: 0).scalars, [5, 7, 9])
        XCTAssertEqual(x.mean(alongAxis: 1).scalars, [3, 4])
        XCTAssertEqual(x.max(alongAxis: 1).scalars, [5, 6])
        XCTAssertEqual(x.argmaxIndices(alongAxis: 1), [1, 2])
        XCTAssertEqual(x.max().scalar, 6)
    }

    func testBufferPoolReusesMemory() {
        let pool = BufferPool.shared
        _ = Tensor.zeros([1 << 16])
        let cachedBefore = pool.cachedByteCount
        XCTAssertGreaterThanOrEqual(cachedBefore, 1 << 18, "a freed buffer goes to the cache")
        _ = Tensor.zeros([1 << 16])
        XCTAssertEqual(pool.cachedByteCount, cachedBefore, "the same size is served from the cache")
    }
}
