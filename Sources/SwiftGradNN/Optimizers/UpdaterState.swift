/// Export and import of a `ParameterUpdater`'s state as named tensors, for
/// checkpoints: slot `s` of parameter `p` is the tensor `"p.s"` (for example
/// `"0.weight.m"`), and the step count travels separately.

/// Errors in optimizer state read back from a checkpoint.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, listing the offending names.
    public var message: String
    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { "optimizer state: \(message)" }
}

extension ParameterUpdater {
    /// Every state slot as `("<parameter>.<slot>", tensor)`, sorted by name.
    public func exportState() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (param, state) in slots {
            for (slot, t) in state { out.append(("\(param).\(slot)", t)) }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Replaces the state with tensors written by `exportState()` and sets
    /// the step count. Every tensor is checked against `model`: its
    /// parameter must exist, its slot must be one the optimizer uses, and its
    /// shape must match; otherwise nothing changes and an
    /// `OptimizerStateError` lists every problem.
    public mutating func importState<M: ParameterContainer>(
        _ tensors: [String: Tensor], step: Int, model: M
    ) throws {
        guard step >= 0 else { throw OptimizerStateError("negative step count \(step)") }
        let params = model.namedParameters
        // Longest names first, so "a.b" wins over "a" for the tensor "a.b.m".
        let byLength = params.sorted { $0.name.count > $1.name.count }
        var expected: [String: [String: [Int]]] = [:]
        for (name, value) in params {
            expected[name] = optimizer.newState(for: value).mapValues(\.shape)
        }
        var newSlots: [String: [String: Tensor]] = [:]
        var problems: [String] = []
        for (key, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            guard let param = byLength.first(where: { key.hasPrefix($0.name + ".") })?.name else {
                problems.append("'\(key)' names no parameter of the model")
                continue
            }
            let slot = String(key.dropFirst(param.count + 1))
            guard let shape = expected[param]?[slot] else {
                let known = expected[param]!.keys.sorted().joined(separator: ", ")
                problems.append("'\(key)': \(optimizer.config.owner) has no slot '\(slot)' (slots: \(known))")
                continue
            }
            guard shape == tensor.shape else {
                problems.append("'\(key)' has shape \(tensor.shape), expected \(shape)")
                continue
            }
            newSlots[param, default: [:]][slot] = tensor
        }
        // A parameter with some but not all slots would silently restart them.
        for (param, state) in newSlots {
            let missing = Set(expected[param]!.keys).subtracting(state.keys)
            if !missing.isEmpty {
                problems.append("'\(param)' lacks slots \(missing.sorted().joined(separator: ", "))")
            }
        }
        guard problems.isEmpty else { throw OptimizerStateError(problems.joined(separator: "; ")) }
        slots = newSlots
        self.step = step
    }
}
