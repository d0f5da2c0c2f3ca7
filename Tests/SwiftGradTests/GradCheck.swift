import XCTest

@testable import SwiftGrad

/// Random inputs kept away from zero so that kinks (relu, abs, max) are not
/// straddled by the finite-difference step.
func awayFromZero(_ shape: [Int], seed: UInt64, minMagnitude: Float = 0.2) -> Tensor {
    var g = SeededGenerator(seed: seed)
    var t = Tensor.uniform(shape, lower: -1, upper: 1, generator: &g)
    t.withUnsafeMutableBufferPointer { p in
        for i in p.indices { p[i] = p[i] >= 0 ? p[i] + minMagnitude : p[i] - minMagnitude }
    }
    return t
}

/// Positive random inputs in [lower, upper).
func positive(_ shape: [Int], seed: UInt64, lower: Float = 0.5, upper: Float = 2) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, lower: lower, upper: upper, generator: &g)
}

/// Checks the tape's gradient of `sum(f(xs) * r)` (r a fixed random tensor)
/// against central differences, element by element.
func assertGradientsMatch(
    _ name: String, inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
    file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Tensor]) -> Tensor
) {
    let outShape = withoutGradient { f(inputs).shape }
    var g = SeededGenerator(seed: 99)
    let r = Tensor.uniform(outShape, lower: -1, upper: 1, generator: &g)
    let objective: ([Tensor]) -> Tensor = { xs in (f(xs) * r).sum() }
    let analytic = gradient(at: inputs, in: objective)
    for (k, x) in inputs.enumerated() {
        XCTAssertEqual(analytic[k].shape, x.shape, "\(name): gradient shape of input \(k)", file: file, line: line)
        for i in 0..<x.count {
            var plus = inputs, minus = inputs
            plus[k].withUnsafeMutableBufferPointer { $0[i] += eps }
            minus[k].withUnsafeMutableBufferPointer { $0[i] -= eps }
            let fp = Double(objective(plus).scalar), fm = Double(objective(minus).scalar)
            let numeric = Float((fp - fm) / (2 * Double(eps)))
            let a = analytic[k].scalars[i]
            if !(Swift.abs(a - numeric) <= atol + rtol * Swift.abs(numeric)) {
                XCTFail("\(name): input \(k) element \(i): tape \(a), finite difference \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// Element-wise comparison with a readable failure.
func assertClose(
    _ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.shape, b.shape, "\(message): shapes", file: file, line: line)
    guard a.shape == b.shape else { return }
    let x = a.scalars, y = b.scalars
    for i in 0..<x.count where !(Swift.abs(x[i] - y[i]) <= atol + rtol * Swift.abs(y[i])) {
        XCTFail("\(message): element \(i): \(x[i]) vs \(y[i])", file: file, line: line)
        return
    }
}
