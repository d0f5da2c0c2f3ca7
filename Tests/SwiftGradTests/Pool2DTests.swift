import XCTest

@testable import SwiftGrad

final class MaxPoolFusedReLUTests: XCTestCase {
    /// The ReLU after the pool gives the bits of the ReLU before it, values
    /// and input gradients, through ties, zeros of both signs and windows
    /// that are all <= 0, for the 2x2 fast path and overlapping windows.
    func testFusedReLUIsBitIdenticalToReLUThenPool() {
        var g = SeededGenerator(seed: 40)
        let noise = Tensor.uniform([2, 3, 8, 7], lower: -2, upper: 1, generator: &g)
        // Quarter steps: many ties and exact zeros (-0.0 too).
        let x = Tensor(shape: noise.shape, scalars: noise.scalars.map { ($0 * 4).rounded() / 4 })
        let windows: [(kernel: Size2, stride: Size2, padding: Size2)] = [
            (2, 2, 0), (3, 2, 1), (3, 1, 1), (Size2(2, 3), Size2(1, 2), Size2(1, 0))
        ]
        for (kernel, stride, padding) in windows {
            let name = "kernel \(kernel) stride \(stride) padding \(padding)"
            func pool(_ t: Tensor, fused: Bool) -> Tensor {
                maxPool2d(t, kernelSize: kernel, stride: stride, padding: padding, fusedReLU: fused)
            }
            let reference = pool(x.relu(), fused: false)
            let fused = pool(x, fused: true)
            XCTAssertEqual(fused.shape, reference.shape, name)
            XCTAssertEqual(fused.scalars.map(\.bitPattern), reference.scalars.map(\.bitPattern), name)
            // Both kinds of window occur, so both gradient paths are exercised.
            XCTAssertTrue(reference.scalars.contains(0) && reference.scalars.contains { $0 > 0 }, name)

            let upstream = Tensor.uniform(reference.shape, lower: -1, upper: 1, generator: &g)
            let expected = gradient(at: x) { (pool($0.relu(), fused: false) * upstream).sum() }
            let actual = gradient(at: x) { (pool($0, fused: true) * upstream).sum() }
            XCTAssertEqual(actual.scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern), name)
            XCTAssertTrue(actual.scalars.contains { $0 != 0 }, name)
        }
    }
}
