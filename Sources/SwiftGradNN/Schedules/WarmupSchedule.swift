/// Linear warm-up then another schedule: for the first `warmupSteps` steps
/// the rate climbs linearly, `base * (step + 1) / warmupSteps` (so the very
/// first update already moves), then `after` takes over with its own step
/// count starting at 0.
///
/// Config: `{"type": "linear_warmup", "warmup_steps": 100,
/// "after": {"type": "cosine", "total_steps": 900}}`; without `after` the
/// rate stays at the base.
public struct LinearWarmupSchedule: LearningRateSchedule {
    /// Steps of linear increase (>= 1).
    public var warmupSteps: Int
    /// The schedule that follows the warm-up.
    public var after: any LearningRateSchedule

    /// Creates the schedule.
    public init(warmupSteps: Int, after: any LearningRateSchedule = ConstantSchedule()) {
        precondition(warmupSteps >= 1, "LinearWarmupSchedule: warmupSteps must be >= 1")
        self.warmupSteps = warmupSteps
        self.after = after
    }

    /// Builds from `warmup_steps` and an optional `after` schedule config,
    /// looked up in `registry`.
    public init(config: Config, registry: Registry) throws {
        try config.checkOnly(["warmup_steps", "after"])
        let after: any LearningRateSchedule =
            config.has("after")
            ? try registry.schedule(try config.object("after")) : ConstantSchedule()
        self.init(warmupSteps: try config.positiveInt("warmup_steps"), after: after)
    }

    /// The config that rebuilds this schedule.
    public var config: Config {
        Config(["type": "linear_warmup", "warmup_steps": .int(warmupSteps), "after": .object(after.config.fields)])
    }

    /// The warmed-up or following rate at `step`.
    public func learningRate(base: Float, step: Int) -> Float {
        if step < warmupSteps { return base * Float(max(step, 0) + 1) / Float(warmupSteps) }
        return after.learningRate(base: base, step: step - warmupSteps)
    }
}
