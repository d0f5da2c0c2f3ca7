import Foundation

/// A small, fast, seedable generator (SplitMix64) that yields the same
/// numbers on every machine for the same seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in [0, 1) built from the top 24 bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(nextUniform(), 1e-7)
        let u2 = nextUniform()
        return Float((-2 * Foundation.log(Double(u1))).squareRoot() * cos(2 * Double.pi * Double(u2)))
    }
}

extension Tensor {
    /// Uniform samples in [lower, upper).
    public static func uniform(
        _ shape: [Int], lower: Float = 0, upper: Float = 1, generator: inout SeededGenerator
    ) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = lower + (upper - lower) * generator.nextUniform() }
        }
        return t
    }

    /// Normal samples with the given mean and standard deviation.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, generator: inout SeededGenerator
    ) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = mean + standardDeviation * generator.nextNormal() }
        }
        return t
    }

    /// Fan-in and fan-out of a weight: [out, in] for dense, [out, in, kh, kw]
    /// for conv (receptive field multiplies both).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans: weight shape \(shape) needs rank >= 2")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Glorot (Xavier) uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)).
    public static func glorotUniform(_ shape: [Int], fanIn: Int, fanOut: Int, generator: inout SeededGenerator) -> Tensor {
        let a = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        return uniform(shape, lower: -a, upper: a, generator: &generator)
    }

    /// Glorot (Xavier) normal: N(0, 2 / (fanIn + fanOut)).
    public static func glorotNormal(_ shape: [Int], fanIn: Int, fanOut: Int, generator: inout SeededGenerator) -> Tensor {
        normal(shape, standardDeviation: Float((2.0 / Double(fanIn + fanOut)).squareRoot()), generator: &generator)
    }

    /// He (Kaiming) normal for ReLU networks: N(0, 2 / fanIn).
    public static func heNormal(_ shape: [Int], fanIn: Int, generator: inout SeededGenerator) -> Tensor {
        normal(shape, standardDeviation: Float((2.0 / Double(fanIn)).squareRoot()), generator: &generator)
    }

    /// He (Kaiming) uniform for ReLU networks: U(-a, a), a = sqrt(6 / fanIn).
    public static func heUniform(_ shape: [Int], fanIn: Int, generator: inout SeededGenerator) -> Tensor {
        let a = Float((6.0 / Double(fanIn)).squareRoot())
        return uniform(shape, lower: -a, upper: a, generator: &generator)
    }
}
