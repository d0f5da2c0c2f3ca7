import Foundation

/// A parameter container with non-trainable tensors (running statistics)
/// that checkpoints should save. `Layer` and `Model` provide the same two
/// members and are recognised without conforming.
public protocol BufferContainer {
    /// Non-trainable state by full name.
    var buffers: [(name: String, value: Tensor)] { get }
    /// Restores a buffer by name.
    mutating func setBuffer(_ name: String, _ value: Tensor) throws
}

extension Checkpoint {
    /// The buffers of `model` if it is a `Layer`, a `Model` or a `BufferContainer`.
    static func buffers<M>(of model: M) -> [(name: String, value: Tensor)] {
        if let l = model as? any Layer { return l.buffers }
        if let m = model as? Model { return m.buffers }
        if let b = model as? any BufferContainer { return b.buffers }
        return []
    }

    /// Sets a buffer on `model` (which must be one of the kinds `buffers(of:)` knows).
    static func setBuffer<M>(_ name: String, _ value: Tensor, on model: inout M) throws {
        if var l = model as? any Layer {
            try l.setBuffer(name, value)
            model = l as! M
        } else if var m = model as? Model {
            try m.setBuffer(name, value)
            model = m as! M
        } else if var b = model as? any BufferContainer {
            try b.setBuffer(name, value)
            model = b as! M
        }
    }

    /// The training state of `model` if it is a `Layer` or a `Model`.
    static func trainingState<M>(of model: M) -> [(name: String, value: Tensor)] {
        if let l = model as? any Layer { return l.trainingState }
        if let m = model as? Model { return m.trainingState }
        return []
    }

    /// Sets training state on `model` (a `Layer` or a `Model`).
    static func setTrainingState<M>(_ name: String, _ value: Tensor, on model: inout M) throws {
        if var l = model as? any Layer {
            try l.setTrainingState(name, value)
            model = l as! M
        } else if var m = model as? Model {
            try m.setTrainingState(name, value)
            model = m as! M
        }
    }

    /// The model's state in PyTorch `state_dict` style: every parameter in
    /// visiting order ("0.weight", "0.bias", ...), then every buffer
    /// ("1.running_mean", ...).
    public static func stateDict<M: ParameterContainer>(of model: M) -> [(String, Tensor)] {
        model.namedParameters.map { ($0.name, $0.value) } + buffers(of: model).map { ($0.name, $0.value) }
    }

    /// Loads parameters and buffers into `model` from named tensors. Every
    /// name must be present with the right shape and nothing else may be
    /// there; otherwise `model` is unchanged and `CheckpointError.mismatch`
    /// lists the missing, unexpected and mis-shaped names. `file` names the
    /// source in errors.
    public static func loadStateDict<M: ParameterContainer>(
        _ tensors: [String: Tensor], into model: inout M, file: String = "state dict"
    ) throws {
        let expected = stateDict(of: model)
        let expectedNames = Set(expected.map(\.0))
        let missing = expected.map(\.0).filter { tensors[$0] == nil }
        let unexpected = tensors.keys.filter { !expectedNames.contains($0) }.sorted()
        let wrong = expected.compactMap { name, t -> String? in
            guard let got = tensors[name], got.shape != t.shape else { return nil }
            return "\(name) is \(got.shape) in the file, \(t.shape) in the model"
        }
        guard missing.isEmpty, unexpected.isEmpty, wrong.isEmpty else {
            throw CheckpointError.mismatch(file: file, missing: missing, unexpected: unexpected, wrongShapes: wrong)
        }
        var updated = model
        updated.visitParameters(prefix: "") { name, t in t = tensors[name]! }
        for (name, _) in buffers(of: model) {
            do { try setBuffer(name, tensors[name]!, on: &updated) } catch {
                throw CheckpointError.io(file: file, reason: "cannot restore buffer '\(name)': \(error)")
            }
        }
        model = updated
    }

    /// Saves `model`'s parameters and buffers to a safetensors file (atomically).
    public static func saveWeights<M: ParameterContainer>(
        of model: M, metadata: [String: String] = [:], to url: URL
    ) throws {
        try save(stateDict(of: model), metadata: metadata, to: url)
    }

    /// Loads parameters and buffers saved by `saveWeights` (or PyTorch's
    /// `safetensors.torch.save_file(model.state_dict())` with F32 tensors)
    /// into `model`, checking every name and shape; returns the metadata.
    @discardableResult
    public static func loadWeights<M: ParameterContainer>(into model: inout M, from url: URL) throws -> [String: String] {
        let (tensors, metadata) = try load(from: url)
        try loadStateDict(tensors, into: &model, file: url.path)
        return metadata
    }
}

extension ParameterContainer {
    /// Saves parameters (and buffers) to a safetensors file; see `Checkpoint.saveWeights`.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        try Checkpoint.saveWeights(of: self, metadata: metadata, to: url)
    }

    /// Loads parameters (and buffers) from a safetensors file, checking names
    /// and shapes; see `Checkpoint.loadWeights`. Returns the file's metadata.
    @discardableResult
    public mutating func loadWeights(from url: URL) throws -> [String: String] {
        try Checkpoint.loadWeights(into: &self, from: url)
    }
}
