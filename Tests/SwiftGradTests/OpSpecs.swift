import Foundation
import XCTest

@testable import SwiftGrad

/// One row of the op table: inputs, the op, an independent reference, and
/// finite-difference settings. The same rows drive the reference test and
/// the gradient check (see DESIGN.md, "One op, three places").
struct OpSpec {
    let name: String
    let inputs: [Tensor]
    let op: ([Tensor]) -> Tensor
    var reference: (([Float]) -> [Float])? = nil  // element-wise on the first input
    var fullReference: (([Tensor]) -> Tensor)? = nil
    var eps: Float = 1e-2
    var rtol: Float = 2e-2
}

func elementwise(_ name: String, _ x: Tensor, _ op: @escaping (Tensor) -> Tensor, _ ref: @escaping (Float) -> Float) -> OpSpec {
    OpSpec(name: name, inputs: [x], op: { op($0[0]) }, reference: { $0.map(ref) })
}

/// A reference for broadcasting binary ops, by explicit index arithmetic.
func broadcastReference(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let shape = broadcastShape(a.shape, b.shape)
    let out = shape.reduce(1, *)
    func index(of flat: Int, in s: [Int]) -> Int {
        var rem = flat, idx = 0, step = 1
        var coords = [Int](repeating: 0, count: shape.count)
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            coords[d] = rem % shape[d]
            rem /= shape[d]
        }
        let off = shape.count - s.count
        for d in stride(from: s.count - 1, through: 0, by: -1) {
            idx += (s[d] == 1 ? 0 : coords[d + off]) * step
            step *= s[d]
        }
        return idx
    }
    let x = a.scalars, y = b.scalars
    return Tensor(shape: shape, scalars: (0..<out).map { f(x[index(of: $0, in: a.shape)], y[index(of: $0, in: b.shape)]) })
}

func makeOpSpecs() -> [OpSpec] {
    let a = awayFromZero([2, 3, 4], seed: 1)
    let p = positive([2, 3, 4], seed: 2)
    let row = awayFromZero([3, 1], seed: 3)
    let img = awayFromZero([2, 3, 7, 6], seed: 4)
    var specs: [OpSpec] = [
        elementwise("neg", a, { -$0 }, { -$0 }),
        elementwise("exp", a, { $0.exp() }, { Foundation.exp($0) }),
        elementwise("log", p, { $0.log() }, { Foundation.log($0) }),
        elementwise("sqrt", p, { $0.sqrt() }, { $0.squareRoot() }),
        elementwise("tanh", a, { $0.tanh() }, { Foundation.tanh($0) }),
        elementwise("sigmoid", a, { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }),
        elementwise("relu", a, { $0.relu() }, { max($0, 0) }),
        elementwise("leakyRelu", a, { $0.leakyRelu(slope: 0.1) }, { $0 > 0 ? $0 : 0.1 * $0 }),
        elementwise("abs", a, { $0.abs() }, { Swift.abs($0) }),
        elementwise("powScalar", p, { $0.pow(2.5) }, { Foundation.pow($0, 2.5) }),
        elementwise("clamp", a, { $0.clamped(min: -0.5, max: 0.6) }, { min(max($0, -0.5), 0.6) }),
        elementwise("affine", a, { $0 * 3 - 1 }, { $0 * 3 - 1 }),
        elementwise("scalarDiv", p, { 2 / $0 }, { 2 / $0 })
    ]
    let binaries: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] = [
        ("add", { $0 + $1 }, { $0 + $1 }), ("sub", { $0 - $1 }, { $0 - $1 }),
        ("mul", { $0 * $1 }, { $0 * $1 }), ("div", { $0 / $1 }, { $0 / $1 }),
        ("maximum", { $0.maximum($1) }, { max($0, $1) }), ("minimum", { $0.minimum($1) }, { min($0, $1) })
    ]
    for (name, f, r) in binaries {
        specs.append(
            OpSpec(
                name: name + "Broadcast", inputs: [a, row], op: { f($0[0], $0[1]) },
                fullReference: { broadcastReference($0[0], $0[1], r) }))
    }
    specs.append(
        OpSpec(
            name: "powTensor", inputs: [p, positive([4], seed: 5)], op: { $0[0].pow($0[1]) },
            fullReference: { broadcastReference($0[0], $0[1], Foundation.pow) }))
    specs += [
        OpSpec(name: "sumAxes", inputs: [a], op: { $0[0].sum(alongAxes: [0, 2]) }),
        OpSpec(name: "meanKeep", inputs: [a], op: { $0[0].mean(alongAxis: 1, keepingDims: true) }),
        OpSpec(name: "maxAxis", inputs: [a], op: { $0[0].max(alongAxis: 2) }),
        OpSpec(name: "permute", inputs: [a], op: { $0[0].permuted([2, 0, 1]) }),
        OpSpec(name: "slice", inputs: [a], op: { $0[0].slice(axis: 1, 1..<3) }),
        OpSpec(name: "concat", inputs: [a, awayFromZero([2, 2, 4], seed: 6)], op: { Tensor.concatenate([$0[0], $0[1]], axis: 1) }),
        OpSpec(name: "broadcastTo", inputs: [row], op: { $0[0].broadcast(to: [2, 3, 5]) }),
        OpSpec(
            name: "matmul", inputs: [awayFromZero([3, 5], seed: 7), awayFromZero([5, 4], seed: 8)],
            op: { matmul($0[0], $0[1]) }, fullReference: { Naive.matmul($0[0], $0[1]) }),
        OpSpec(
            name: "matmulTT", inputs: [awayFromZero([5, 3], seed: 9), awayFromZero([4, 5], seed: 10)],
            op: { matmul($0[0], $0[1], transposeA: true, transposeB: true) },
            fullReference: { Naive.matmul($0[0].transposed(), $0[1].transposed()) }),
        OpSpec(
            name: "batchedMatmulShared", inputs: [awayFromZero([2, 3, 5], seed: 11), awayFromZero([4, 5], seed: 12)],
            op: { matmul($0[0], $0[1], transposeB: true) }),
        OpSpec(name: "softmax", inputs: [a], op: { $0[0].softmax(alongAxis: 1) }),
        OpSpec(name: "logSoftmax", inputs: [a], op: { $0[0].logSoftmax() }),
        OpSpec(
            name: "conv2d", inputs: [img, awayFromZero([4, 3, 3, 2], seed: 13), awayFromZero([4], seed: 14)],
            op: { conv2d($0[0], weight: $0[1], bias: $0[2], stride: Size2(2, 1), padding: Size2(1, 0)) },
            fullReference: { Naive.conv2d($0[0], $0[1], $0[2], stride: Size2(2, 1), padding: Size2(1, 0), dilation: 1, groups: 1) }),
        OpSpec(
            name: "conv2dFusedReLU", inputs: [img, awayFromZero([4, 3, 3, 3], seed: 26), awayFromZero([4], seed: 27)],
            op: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, fusedReLU: true) },
            fullReference: { Naive.conv2d($0[0], $0[1], $0[2], stride: 1, padding: 1, dilation: 1, groups: 1).relu() },
            eps: 1e-3),
        OpSpec(
            name: "conv2dGroupedDilated", inputs: [awayFromZero([1, 4, 7, 7], seed: 15), awayFromZero([6, 2, 3, 3], seed: 16)],
            op: { conv2d($0[0], weight: $0[1], padding: 2, dilation: 2, groups: 2) },
            fullReference: { Naive.conv2d($0[0], $0[1], nil, stride: 1, padding: 2, dilation: 2, groups: 2) }),
        OpSpec(
            name: "convTranspose2d",
            inputs: [awayFromZero([2, 4, 3, 4], seed: 17), awayFromZero([4, 3, 3, 3], seed: 18), awayFromZero([6], seed: 19)],
            op: { convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1, groups: 2) },
            fullReference: { Naive.convTranspose2d($0[0], $0[1], $0[2], stride: 2, padding: 1, outputPadding: 1, dilation: 1, groups: 2) }),
        OpSpec(
            name: "maxPool2d", inputs: [distinct([2, 3, 7, 6], seed: 25)], op: { maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1) },
            fullReference: { Naive.pool2d($0[0], kernel: 3, stride: 2, padding: 1, max: true, countIncludePad: false) }, eps: 1e-3),
        // Mostly negative, so that some windows pool to <= 0 (zero gradient).
        OpSpec(
            name: "maxPool2dFusedReLU", inputs: [distinct([2, 3, 7, 6], seed: 28, offset: -1.505)],
            op: { maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, fusedReLU: true) },
            fullReference: {
                let rectified = Tensor(shape: $0[0].shape, scalars: $0[0].scalars.map { max($0, 0) })
                return Naive.pool2d(rectified, kernel: 3, stride: 2, padding: 1, max: true, countIncludePad: false)
            }, eps: 1e-3),
        // One op for conv -> ReLU -> max pool (2x2, and overlapping padded
        // 3x3 windows), against the naive conv, ReLU and pool.
        OpSpec(
            name: "conv2dMaxPool2d", inputs: [img, awayFromZero([4, 3, 3, 3], seed: 29), awayFromZero([4], seed: 30)],
            op: { conv2dMaxPool2d($0[0], weight: $0[1], bias: $0[2], padding: 1, poolSize: 2, fusedReLU: true) },
            fullReference: {
                let y = Naive.conv2d($0[0], $0[1], $0[2], stride: 1, padding: 1, dilation: 1, groups: 1).relu()
                return Naive.pool2d(y, kernel: 2, stride: 2, padding: 0, max: true, countIncludePad: false)
            }, eps: 1e-3),
        OpSpec(
            name: "conv2dMaxPool2dOverlapping", inputs: [img, awayFromZero([5, 3, 2, 3], seed: 31)],
            op: { conv2dMaxPool2d($0[0], weight: $0[1], stride: Size2(1, 2), poolSize: 3, poolStride: 2, poolPadding: 1) },
            fullReference: {
                let y = Naive.conv2d($0[0], $0[1], nil, stride: Size2(1, 2), padding: 0, dilation: 1, groups: 1)
                return Naive.pool2d(y, kernel: 3, stride: 2, padding: 1, max: true, countIncludePad: false)
            }, eps: 1e-3),
        OpSpec(
            name: "avgPool2d", inputs: [img],
            op: { avgPool2d($0[0], kernelSize: Size2(3, 2), stride: 2, padding: 1, countIncludePad: false) },
            fullReference: { Naive.pool2d($0[0], kernel: Size2(3, 2), stride: 2, padding: 1, max: false, countIncludePad: false) }),
        OpSpec(
            name: "avgPool2dIncludePad", inputs: [img], op: { avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1) },
            fullReference: { Naive.pool2d($0[0], kernel: 3, stride: 2, padding: 1, max: false, countIncludePad: true) })
    ]
    return specs
}

final class OpSpecTests: XCTestCase {
    func testOpsMatchReferences() {
        for spec in makeOpSpecs() {
            let out = spec.op(spec.inputs)
            if let ref = spec.reference {
                assertClose(out, Tensor(shape: out.shape, scalars: ref(spec.inputs[0].scalars)), spec.name)
            }
            if let ref = spec.fullReference {
                assertClose(out, ref(spec.inputs), atol: 1e-4, spec.name)
            }
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for spec in makeOpSpecs() {
            assertGradientsMatch(spec.name, inputs: spec.inputs, eps: spec.eps, rtol: spec.rtol, spec.op)
        }
    }
}

/// Values spaced 0.01 apart in random order: no two elements are within a
/// finite-difference step of each other, so max pooling has no near-ties.
/// Centred on zero plus `offset`.
func distinct(_ shape: [Int], seed: UInt64, offset: Float = 0) -> Tensor {
    let n = shape.reduce(1, *)
    var g = SeededGenerator(seed: seed)
    let values = (0..<n).map { Float($0) * 0.01 - Float(n) * 0.005 + offset }.shuffled(using: &g)
    return Tensor(shape: shape, scalars: values)
}
