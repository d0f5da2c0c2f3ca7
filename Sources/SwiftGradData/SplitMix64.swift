import Foundation

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator whose
/// output is identical on every machine, unlike `SystemRandomNumberGenerator`.
///
/// All sampling helpers here use only integer arithmetic or IEEE-exact
/// conversions, so shuffles are bit-reproducible across platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state; advances by a fixed odd constant per draw.
    public private(set) var state: UInt64

    /// Creates a generator; equal seeds give equal streams.
    public init(seed: UInt64) { state = seed }

    /// A generator for sub-stream `stream` of `seed` (e.g. an epoch or an
    /// example index): distinct streams are decorrelated by mixing.
    public init(seed: UInt64, stream: UInt64) {
        state = SplitMix64.mix(SplitMix64.mix(seed) ^ (stream &* 0xD1B5_4A32_D192_ED03 &+ 0x2545_F491_4F6C_DD1D))
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output function (a bijective 64-bit finalizer).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's
    /// multiply-and-reject), independent of the standard library's algorithm.
    public mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0, "SplitMix64.uniform: bound \(bound) must be positive")
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    /// A uniform integer in the closed range `range`.
    public mutating func uniform(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + uniform(below: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform `Float` in `[a, b)`.
    public mutating func uniform(_ a: Float, _ b: Float) -> Float {
        a + (b - a) * Float(unitDouble())
    }

    /// A standard normal sample (Box-Muller). Uses libm `log`/`cos`, so the
    /// last bit may differ between platforms; only used for image noise.
    public mutating func normal() -> Float {
        let u1 = max(unitDouble(), 0x1.0p-60)
        let u2 = unitDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// A permutation of `0..<count` by Fisher-Yates, deterministic for a
    /// given generator state.
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            order.swapAt(i, uniform(below: i + 1))
            i -= 1
        }
        return order
    }
}

/// The example order for one epoch: identity when `seed` is `nil`, else a
/// permutation of `0..<count` that depends only on `(seed, epoch)`.
///
/// Different epochs give different permutations; the same pair gives the
/// same permutation on every machine.
public func epochOrder(count: Int, seed: UInt64?, epoch: Int) -> [Int] {
    guard let seed else { return Array(0..<count) }
    var rng = SplitMix64(seed: seed, stream: UInt64(bitPattern: Int64(epoch)))
    return rng.permutation(count)
}
