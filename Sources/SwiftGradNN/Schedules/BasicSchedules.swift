import Foundation

/// Shared checks for schedule configs.
extension Config {
    /// A positive integer field (at least 1).
    func positiveInt(_ key: String, default d: Int? = nil) throws -> Int {
        try int(key, atLeast: 1, default: d)
    }

    /// A finite number that must be >= 0.
    func nonNegative(_ key: String, default d: Double? = nil) throws -> Double {
        let v = d != nil && !has(key) ? d! : try double(key)
        guard v >= 0 else { throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be >= 0, got \(v)") }
        return v
    }
}

/// The base rate at every step. Config: `{"type": "constant"}`.
public struct ConstantSchedule: LearningRateSchedule {
    /// Creates the schedule.
    public init() {}
    /// Builds from a config with no options.
    public init(config: Config) throws { try config.checkOnly([]) }
    /// The config that rebuilds this schedule.
    public var config: Config { Config(["type": "constant"]) }
    /// Returns `base`.
    public func learningRate(base: Float, step: Int) -> Float { base }
}

/// Multiplies the rate by `gamma` every `stepSize` steps (PyTorch `StepLR`):
/// `base * gamma^floor(step / stepSize)`.
/// Config: `{"type": "step", "step_size": 10, "gamma": 0.1}`.
public struct StepSchedule: LearningRateSchedule {
    /// Steps between decays (>= 1).
    public var stepSize: Int
    /// Factor applied at each decay.
    public var gamma: Double

    /// Creates the schedule.
    public init(stepSize: Int, gamma: Double = 0.1) {
        precondition(stepSize >= 1, "StepSchedule: stepSize must be >= 1")
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// Builds from `step_size` (required) and `gamma` (default 0.1).
    public init(config: Config) throws {
        try config.checkOnly(["step_size", "gamma"])
        self.init(stepSize: try config.positiveInt("step_size"), gamma: try config.nonNegative("gamma", default: 0.1))
    }

    /// The config that rebuilds this schedule.
    public var config: Config { Config(["type": "step", "step_size": .int(stepSize), "gamma": .number(gamma)]) }

    /// `base * gamma^floor(step / stepSize)`.
    public func learningRate(base: Float, step: Int) -> Float {
        Float(Double(base) * Foundation.pow(gamma, Double(max(step, 0) / stepSize)))
    }
}

/// Exponential decay (Keras `ExponentialDecay`):
/// `base * decayRate^(step / decaySteps)`, with the exponent floored when
/// `staircase` is true.
/// Config: `{"type": "exponential", "decay_rate": 0.96, "decay_steps": 1000, "staircase": false}`.
public struct ExponentialSchedule: LearningRateSchedule {
    /// Factor per `decaySteps` steps.
    public var decayRate: Double
    /// Steps over which the rate is multiplied by `decayRate` once.
    public var decaySteps: Int
    /// Decay in discrete jumps instead of smoothly.
    public var staircase: Bool

    /// Creates the schedule.
    public init(decayRate: Double, decaySteps: Int = 1, staircase: Bool = false) {
        precondition(decaySteps >= 1, "ExponentialSchedule: decaySteps must be >= 1")
        self.decayRate = decayRate
        self.decaySteps = decaySteps
        self.staircase = staircase
    }

    /// Builds from `decay_rate` (required), `decay_steps` (default 1), `staircase`.
    public init(config: Config) throws {
        try config.checkOnly(["decay_rate", "decay_steps", "staircase"])
        self.init(
            decayRate: try config.nonNegative("decay_rate"), decaySteps: try config.positiveInt("decay_steps", default: 1),
            staircase: try config.bool("staircase", default: false))
    }

    /// The config that rebuilds this schedule.
    public var config: Config {
        Config([
            "type": "exponential", "decay_rate": .number(decayRate), "decay_steps": .int(decaySteps),
            "staircase": .bool(staircase)
        ])
    }

    /// `base * decayRate^(step / decaySteps)`.
    public func learningRate(base: Float, step: Int) -> Float {
        var e = Double(max(step, 0)) / Double(decaySteps)
        if staircase { e.round(.down) }
        return Float(Double(base) * Foundation.pow(decayRate, e))
    }
}
