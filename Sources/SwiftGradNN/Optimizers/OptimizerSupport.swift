/// Shared helpers for the built-in optimizers: config parsing and state slots.

extension Config {
    /// The learning rate from `learning_rate` (or its alias `lr`), or
    /// `defaultValue` when neither is given. Throws if negative or if both
    /// spellings are present.
    public func learningRate(default defaultValue: Float) throws -> Float {
        if has("learning_rate") && has("lr") {
            throw ConfigError.invalidValue(owner: owner, field: "lr", reason: "duplicates 'learning_rate'; give only one")
        }
        let value = has("lr") ? try float("lr") : try float("learning_rate", default: defaultValue)
        guard value >= 0 else {
            throw ConfigError.invalidValue(owner: owner, field: "learning_rate", reason: "must be >= 0, got \(value)")
        }
        return value
    }

    /// A float in `range` (default when absent), with an error naming the field.
    func boundedFloat(_ key: String, default d: Float, in range: ClosedRange<Float>) throws -> Float {
        let v = try float(key, default: d)
        guard range.contains(v) else {
            throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be in \(range), got \(v)")
        }
        return v
    }
}

extension Dictionary where Key == String, Value == Tensor {
    /// Removes and returns the slot `name`, or zeros shaped like `parameter`
    /// when the slot does not exist yet. The caller puts it back when done,
    /// so the slot's buffer stays uniquely referenced and is updated in place.
    mutating func takeSlot(_ name: String, like parameter: Tensor, optimizer: String) -> Tensor {
        guard let t = removeValue(forKey: name) else { return Tensor.zeros(like: parameter) }
        precondition(
            t.shape == parameter.shape,
            "\(optimizer): state slot '\(name)' has shape \(t.shape), parameter has \(parameter.shape)")
        return t
    }
}

/// Checks that a gradient fits its parameter (a programmer error otherwise).
@inline(__always)
func checkGradient(_ parameter: Tensor, _ gradient: Tensor, _ optimizer: String) {
    precondition(
        parameter.shape == gradient.shape,
        "\(optimizer): gradient shape \(gradient.shape) does not match parameter shape \(parameter.shape)")
}
