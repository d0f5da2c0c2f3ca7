/// Drives an `Optimizer` over a whole model: keeps each parameter's state by
/// name, counts steps, applies the learning-rate schedule and optional
/// gradient clipping by global norm.
///
/// This is the value a training loop calls `update` on, in the spirit of
/// Swift for TensorFlow's `optimizer.update(&model, along: grads)`:
///
/// ```swift
/// var optimizer = try ParameterUpdater("adam", ["learning_rate": 1e-3])
/// let (loss, grads) = valueWithGradient(at: model) { m in lossFn(m(x), y) }
/// optimizer.update(&model, along: grads)
/// ```
public struct ParameterUpdater: Sendable {
    /// The update rule (its `learningRate` is the base rate).
    public var optimizer: any Optimizer
    /// Scales the base rate per step; nil keeps it constant.
    public var schedule: (any LearningRateSchedule)?
    /// When set, gradients whose global L2 norm exceeds this are scaled down
    /// to this norm before the update (PyTorch's `clip_grad_norm_`).
    public var clipNorm: Float?
    /// When set, replaces the scheduled rate (a per-epoch callback sets it).
    public var learningRateOverride: Float?
    /// Updates done so far; the next update is step `step + 1` for the
    /// optimizer and reads the schedule at index `step`.
    public internal(set) var step: Int = 0
    /// Per-parameter state slots, by parameter name then slot name.
    public internal(set) var slots: [String: [String: Tensor]] = [:]
    /// The global gradient norm seen by the last update (before clipping).
    public private(set) var lastGradientNorm: Float?

    /// Wraps an optimizer.
    public init(_ optimizer: any Optimizer, schedule: (any LearningRateSchedule)? = nil, clipNorm: Float? = nil) {
        precondition(clipNorm.map { $0 > 0 } ?? true, "ParameterUpdater: clipNorm must be > 0")
        self.optimizer = optimizer
        self.schedule = schedule
        self.clipNorm = clipNorm
    }

    /// Builds the optimizer registered as `name` with `fields`, e.g.
    /// `ParameterUpdater("adam", ["learning_rate": 1e-3])`.
    public init(
        _ name: String, _ fields: [String: ConfigValue] = [:], schedule: (any LearningRateSchedule)? = nil,
        clipNorm: Float? = nil, registry: Registry = .shared
    ) throws {
        self.init(try registry.optimizer(name, fields), schedule: schedule, clipNorm: clipNorm)
    }

    /// Builds from an optimizer config (`{"type": "adam", ...}`) and an
    /// optional schedule config.
    public init(
        config: Config, schedule scheduleConfig: Config? = nil, clipNorm: Float? = nil,
        registry: Registry = .shared
    ) throws {
        let schedule = try scheduleConfig.map { try registry.schedule($0) }
        self.init(try registry.optimizer(config), schedule: schedule, clipNorm: clipNorm)
    }

    /// The learning rate the next update will use.
    public var learningRate: Float {
        if let learningRateOverride { return learningRateOverride }
        let base = optimizer.learningRate
        return schedule?.learningRate(base: base, step: step) ?? base
    }

    /// Applies one optimizer step to every parameter of `model` that has a
    /// gradient in `gradients` (matched by name). Parameters are updated in
    /// place when their buffers are not shared.
    public mutating func update<M: ParameterContainer>(_ model: inout M, along gradients: Gradients) {
        let lr = learningRate
        var factor: Float = 1
        if let clipNorm {
            let norm = gradients.globalNorm
            lastGradientNorm = norm
            // Same guard as PyTorch: clip_coef = max_norm / (norm + 1e-6), only if < 1.
            let coef = clipNorm / (norm + 1e-6)
            if coef < 1 { factor = coef }
        } else {
            lastGradientNorm = nil
        }
        step += 1
        let t = step
        let optimizer = self.optimizer
        var slots = self.slots
        self.slots = [:]  // keep the slot buffers uniquely referenced while updating
        model.visitParameters(prefix: "") { name, parameter in
            guard var g = gradients.byName[name] else { return }
            if factor != 1 { g = g * factor }
            var state = slots.removeValue(forKey: name) ?? optimizer.newState(for: parameter)
            optimizer.applySingle(parameter: &parameter, gradient: g, state: &state, step: t, learningRate: lr)
            slots[name] = state
        }
        self.slots = slots
    }

    /// Forgets all per-parameter state and the step count.
    public mutating func reset() {
        step = 0
        slots = [:]
        lastGradientNorm = nil
    }
}

extension Registry {
    /// A `ParameterUpdater` around the optimizer registered as `name`.
    public func updater(
        _ name: String, _ fields: [String: ConfigValue] = [:],
        schedule: (any LearningRateSchedule)? = nil, clipNorm: Float? = nil
    ) throws -> ParameterUpdater {
        try ParameterUpdater(name, fields, schedule: schedule, clipNorm: clipNorm, registry: self)
    }
}
