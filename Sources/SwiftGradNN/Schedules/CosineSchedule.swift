import Foundation

/// Cosine annealing from the base rate to a floor over `totalSteps`, then
/// flat at the floor (PyTorch `CosineAnnealingLR` without restarts, Keras
/// `CosineDecay`):
///
///     c = (1 + cos(pi * min(step, totalSteps) / totalSteps)) / 2
///     lr = floor + (base - floor) * c
///
/// The floor is either absolute (`min_lr`) or a fraction of the base
/// (`alpha`, Keras' name). Config: `{"type": "cosine", "total_steps": 1000, "min_lr": 0}`.
public struct CosineSchedule: LearningRateSchedule {
    /// Where the floor comes from.
    public enum Floor: Sendable, Equatable {
        /// An absolute learning rate.
        case absolute(Float)
        /// A fraction of the base learning rate.
        case fraction(Float)
    }

    /// Steps over which the rate decays (>= 1).
    public var totalSteps: Int
    /// The rate reached at `totalSteps`.
    public var floor: Floor

    /// Creates the schedule.
    public init(totalSteps: Int, floor: Floor = .absolute(0)) {
        precondition(totalSteps >= 1, "CosineSchedule: totalSteps must be >= 1")
        self.totalSteps = totalSteps
        self.floor = floor
    }

    /// Builds from `total_steps` (required) and at most one of `min_lr` / `alpha`.
    public init(config: Config) throws {
        try config.checkOnly(["total_steps", "min_lr", "alpha"])
        if config.has("min_lr") && config.has("alpha") {
            throw ConfigError.invalidValue(owner: config.owner, field: "alpha", reason: "conflicts with 'min_lr'; give only one")
        }
        let floor: Floor =
            config.has("alpha")
            ? .fraction(Float(try config.nonNegative("alpha")))
            : .absolute(Float(try config.nonNegative("min_lr", default: 0)))
        self.init(totalSteps: try config.positiveInt("total_steps"), floor: floor)
    }

    /// The config that rebuilds this schedule.
    public var config: Config {
        var c = Config(["type": "cosine", "total_steps": .int(totalSteps)])
        switch floor {
        case .absolute(let v): c["min_lr"] = .float(v)
        case .fraction(let v): c["alpha"] = .float(v)
        }
        return c
    }

    /// The annealed rate at `step`.
    public func learningRate(base: Float, step: Int) -> Float {
        let t = Double(min(max(step, 0), totalSteps)) / Double(totalSteps)
        let c = 0.5 * (1 + Foundation.cos(Double.pi * t))
        let low: Double
        switch floor {
        case .absolute(let v): low = Double(v)
        case .fraction(let f): low = Double(base) * Double(f)
        }
        return Float(low + (Double(base) - low) * c)
    }
}
