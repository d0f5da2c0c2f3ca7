import XCTest

@testable import SwiftGradNN

/// `Sequential` and `Graph` run a ReLU that ends one layer after the max pool
/// that follows it; the results must be the bits of the layers run one by one.
/// A Conv2D and its pool also run as one op (`conv2dMaxPool2d`), whose
/// weight and bias gradients sum in another order: equal up to rounding.
final class ReLUHandoffTests: XCTestCase {
    /// Conv2D(.relu) -> MaxPool2D twice (2x2 and an overlapping padded
    /// window), then a head: outputs agree bit for bit with conv2d, relu and
    /// maxPool2d called one by one, parameter gradients to rounding (the
    /// fused conv + pool op).
    func testSequentialConvReLUPoolMatchesUnfusedLayers() throws {
        let chain = try built(
            Sequential {
                Conv2D(filters: 4, kernelSize: 3, activation: .relu)
                MaxPool2D(poolSize: 2)
                Conv2D(filters: 6, kernelSize: 3, padding: .same, activation: .relu)
                MaxPool2D(poolSize: 3, strides: 2, padding: .explicit(1))
                Flatten()
                Dense(units: 3)
            }, [2, 13, 13])
        XCTAssertNotNil(chain.reluHandoffPair(at: 0))
        XCTAssertNil(chain.reluHandoffPair(at: 1))
        XCTAssertNotNil(chain.reluHandoffPair(at: 2))
        XCTAssertNil(chain.reluHandoffPair(at: 5))

        try assertMatchesUnfused(chain, input: [3, 2, 13, 13], exactGradients: false) { s, x in
            let (c0, c2) = (s.layers[0] as! Conv2D, s.layers[2] as! Conv2D)
            var y = conv2d(x, weight: c0.weight!, bias: c0.bias, fusedReLU: false).relu()
            y = maxPool2d(y, kernelSize: 2)
            y = conv2d(y, weight: c2.weight!, bias: c2.bias, padding: 1, fusedReLU: false).relu()
            y = maxPool2d(y, kernelSize: 3, stride: 2, padding: 1)
            return s.layers[5](s.layers[4](y))
        }
    }

    /// Conv2D (linear) -> ReLU -> MaxPool2D: the ReLU layer moves into the pool.
    func testSequentialReLULayerBeforePoolMatchesUnfusedLayers() throws {
        let chain = try built(
            Sequential {
                Conv2D(filters: 4, kernelSize: 3)
                ReLU()
                MaxPool2D(poolSize: 2)
                Flatten()
                Dense(units: 3)
            }, [2, 10, 10])
        XCTAssertNil(chain.reluHandoffPair(at: 0))
        XCTAssertNotNil(chain.reluHandoffPair(at: 1))

        try assertMatchesUnfused(chain, input: [3, 2, 10, 10]) { s, x in
            let c0 = s.layers[0] as! Conv2D
            let y = maxPool2d(conv2d(x, weight: c0.weight!, bias: c0.bias).relu(), kernelSize: 2)
            return s.layers[4](s.layers[3](y))
        }
    }

    /// No handoff where the ReLU does not end the layer or the next layer is
    /// not a max pool.
    func testSequentialKeepsOtherPairs() throws {
        let chain = Sequential {
            Conv2D(filters: 4, kernelSize: 3, activation: .tanh)
            MaxPool2D(poolSize: 2)
            Conv2D(filters: 4, kernelSize: 3, activation: .relu)
            AvgPool2D(poolSize: 2)
            LeakyReLU()
            MaxPool2D(poolSize: 2)
        }
        XCTAssertEqual(chain.layers.indices.filter { chain.reluHandoffPair(at: $0) != nil }, [])
    }

    /// A Graph hands the ReLU of a conv read only by a max pool to the pool,
    /// and keeps it in a conv that is also read by a residual sum.
    func testGraphHandsOffOnlyFromSingleReaderNodes() throws {
        let graph = try built(
            Graph(nodes: [
                .layer("c1", Conv2D(filters: 4, kernelSize: 3, activation: .relu), input: "input"),
                .layer("p1", MaxPool2D(poolSize: 2), input: "c1"),
                .layer("c2", Conv2D(filters: 4, kernelSize: 3, padding: .same, activation: .relu), input: "p1"),
                .layer("p2", MaxPool2D(poolSize: 3, strides: 1, padding: .same), input: "c2"),
                .add("res", ["c2", "p2"]),
                .layer("flat", Flatten(), input: "res"),
                .layer("out", Dense(units: 3), input: "flat")
            ]), [2, 12, 12])
        XCTAssertEqual(graph.reluHandoffs(), ["c1"])

        try assertMatchesUnfused(graph, input: [3, 2, 12, 12], exactGradients: false) { g, x in
            let (c1, c2) = (layer("c1", of: g) as! Conv2D, layer("c2", of: g) as! Conv2D)
            let (flat, out) = (layer("flat", of: g), layer("out", of: g))
            var y = maxPool2d(conv2d(x, weight: c1.weight!, bias: c1.bias).relu(), kernelSize: 2)
            y = conv2d(y, weight: c2.weight!, bias: c2.bias, padding: 1).relu()
            y = y + maxPool2d(y, kernelSize: 3, stride: 1, padding: 1)
            return out(flat(y))
        }

        // A node that is an output keeps its ReLU.
        let exposed = Graph(
            nodes: [
                .layer("c", Conv2D(filters: 4, kernelSize: 3, activation: .relu), input: "input"),
                .layer("p", MaxPool2D(poolSize: 2), input: "c")
            ], outputs: ["p", "c"])
        XCTAssertEqual(exposed.reluHandoffs(), [])
    }

    /// Asserts bit-for-bit equal outputs and parameter gradients of `model`
    /// and of `unfused(model, x)`, for a random batch `x` of shape `input`
    /// and a random upstream gradient; with `exactGradients` false, the
    /// gradients only to 1e-5 of their largest element.
    private func assertMatchesUnfused<L: Layer>(
        _ model: L, input: [Int], exactGradients: Bool = true,
        file: StaticString = #filePath, line: UInt = #line,
        _ unfused: @escaping (L, Tensor) -> Tensor
    ) throws {
        let x = randomTensor(input, seed: 7)
        let expectedOutput = unfused(model, x)
        let output = model(x)
        XCTAssertEqual(output.shape, expectedOutput.shape, file: file, line: line)
        XCTAssertEqual(output.scalars.map(\.bitPattern), expectedOutput.scalars.map(\.bitPattern), "outputs", file: file, line: line)

        let upstream = randomTensor(output.shape, seed: 8)
        let gradients = gradient(at: model) { m in (m(x) * upstream).sum() }
        let expected = gradient(at: model) { m in (unfused(m, x) * upstream).sum() }
        XCTAssertEqual(gradients.names, expected.names, file: file, line: line)
        XCTAssertFalse(gradients.names.isEmpty, file: file, line: line)
        for name in expected.names {
            let (a, b) = (try XCTUnwrap(gradients[name]), try XCTUnwrap(expected[name]))
            if exactGradients {
                XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "gradient of \(name)", file: file, line: line)
            } else {
                let scale = max(1, b.scalars.map(abs).max() ?? 0)
                let diff = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "gradient of \(name)", file: file, line: line)
            }
            XCTAssertTrue(a.scalars.contains { $0 != 0 }, "gradient of \(name) is all zero", file: file, line: line)
        }
    }
}

/// The layer of the node named `name`.
private func layer(_ name: String, of graph: Graph) -> any Layer {
    guard let node = graph.nodes.first(where: { $0.name == name }), case .layer(let l) = node.operation else {
        preconditionFailure("no layer node \(name)")
    }
    return l
}
