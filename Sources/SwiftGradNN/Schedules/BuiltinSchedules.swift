/// The built-in learning-rate schedules, registered as a third-party bundle would.
public enum BuiltinSchedules {
    /// Registers "constant", "step", "exponential", "cosine" and "linear_warmup".
    public static func register(into registry: Registry) {
        registry.register(schedule: "constant") { try ConstantSchedule(config: $0) }
        registry.register(schedule: "step") { try StepSchedule(config: $0) }
        registry.register(schedule: "exponential") { try ExponentialSchedule(config: $0) }
        registry.register(schedule: "cosine") { try CosineSchedule(config: $0) }
        // The inner "after" schedule resolves in the same registry; weak, so a
        // throwaway registry is not kept alive by its own factory.
        registry.register(schedule: "linear_warmup") { [weak registry] config in
            try LinearWarmupSchedule(config: config, registry: registry ?? .shared)
        }
    }
}
