import Foundation

/// A thread-safe counter shared by copies of a layer, so a value-type layer
/// can draw a fresh random stream on every call.
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    /// Returns the current count and increments it.
    func next() -> UInt64 {
        lock.withLock {
            defer { value += 1 }
            return value
        }
    }
    /// The current count.
    var current: UInt64 { lock.withLock { value } }
    /// Sets the count back to zero.
    func reset() { set(0) }
    /// Sets the count.
    func set(_ count: UInt64) { lock.withLock { value = count } }
}

/// Inverted dropout: in training mode (`LearningPhase.isTraining`) zeroes each
/// element with probability `rate` and scales the rest by 1 / (1 - rate); in
/// inference mode it is the identity. Any shape in and out.
///
/// Masks are reproducible: the n-th training call of a layer draws its mask
/// from (`seed`, a salt drawn from the model's generator at build, n), so
/// masks differ per step, differ between dropout layers of one model, and
/// repeat exactly when the run is repeated. Copies of a layer share the call
/// counter; training checkpoints save it (`trainingState`), so a resumed run
/// draws the masks the uninterrupted run would have.
///
/// Config: `{"type": "dropout", "rate": 0.5, "seed": 0}`.
public struct Dropout: Layer {
    public static let typeName = "dropout"

    /// Probability of dropping an element, in [0, 1).
    public let rate: Float
    /// The user seed mixed into every mask.
    public let seed: UInt64
    /// Set by `build` from the model generator so sibling dropouts differ.
    public private(set) var salt: UInt64 = 0
    let counter = CallCounter()

    /// Dropout with probability `rate`.
    /// - Precondition: 0 <= rate < 1.
    public init(rate: Float, seed: UInt64 = 0) {
        precondition(rate >= 0 && rate < 1, "Dropout: rate must be in [0, 1), got \(rate)")
        (self.rate, self.seed) = (rate, seed)
    }

    public init(config: Config) throws {
        try config.checkOnly(["rate", "seed"])
        let rate = try config.float("rate")
        guard rate >= 0, rate < 1 else {
            throw ConfigError.invalidValue(owner: config.owner, field: "rate", reason: "must be in [0, 1), got \(rate)")
        }
        self.init(rate: rate, seed: UInt64(try config.int("seed", atLeast: 0, default: 0)))
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "rate": .float(rate), "seed": .number(Double(seed))])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        salt = generator.next()
        return inputShape
    }

    /// Restarts the mask sequence (e.g. to replay a run from its start).
    public func resetMaskSequence() { counter.reset() }

    /// "mask_calls": the number of masks drawn so far, as four 16-bit
    /// pieces (low first), each exact in a float.
    public var trainingState: [(name: String, value: Tensor)] {
        let n = counter.current
        return [("mask_calls", Tensor((0..<4).map { Float((n >> (16 * UInt64($0))) & 0xFFFF) }))]
    }

    /// Sets the mask count from a "mask_calls" tensor (all copies of the
    /// layer share it).
    public mutating func setTrainingState(_ name: String, _ value: Tensor) throws {
        guard name == "mask_calls" else {
            throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "is not training state (mask_calls)")
        }
        let pieces = value.scalars
        guard value.shape == [4], pieces.allSatisfy({ $0 >= 0 && $0 <= 65535 && $0 == $0.rounded() }) else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: name,
                reason: "must be 4 integers in 0...65535, got shape \(value.shape)")
        }
        counter.set(pieces.enumerated().reduce(0) { $0 | (UInt64($1.element) << (16 * UInt64($1.offset))) })
    }

    /// The mask for one call: 0 or 1 / (1 - rate) per element.
    func mask(shape: [Int], call: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed ^ salt.rotated(17) ^ (call &* 0xD1B5_4A32_D192_ED03))
        let keep = 1 / (1 - rate)
        var m = Tensor(uninitializedShape: shape)
        m.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = g.nextUniform() >= rate ? keep : 0 }
        }
        return m
    }

    /// The same shape in and out; identity unless training.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard LearningPhase.isTraining, rate > 0 else { return input }
        return input * mask(shape: input.shape, call: counter.next())
    }
}

extension UInt64 {
    fileprivate func rotated(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}
