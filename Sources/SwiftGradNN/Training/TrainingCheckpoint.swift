import Foundation

/// Training checkpoints: the model's weights in one safetensors file (as
/// `saveWeights` writes, loadable on its own) and the optimizer state plus
/// progress in a second file next to it, so `resume` continues a run exactly.
extension Trainer {
    /// Format tag written into both files' metadata.
    public static var checkpointFormat: String { "swiftgrad.training_checkpoint.v1" }

    /// The optimizer file of a checkpoint: "run/ckpt.safetensors" gives
    /// "run/ckpt.optim.safetensors"; other names get ".optim.safetensors" appended.
    public static func optimizerStateURL(for url: URL) -> URL {
        let name = url.lastPathComponent
        let stem = name.hasSuffix(".safetensors") ? String(name.dropLast(".safetensors".count)) : name
        return url.deletingLastPathComponent().appendingPathComponent(stem + ".optim.safetensors")
    }

    /// Prefix of the model's training state (dropout mask counts) among the
    /// optimizer file's tensors.
    static var trainingStatePrefix: String { "training_state/" }

    /// Writes the model weights to `url` and the optimizer state ("<param>.<slot>"
    /// tensors), the model's training state ("training_state/<name>", e.g.
    /// dropout mask counts) and the progress (epoch, step, seed, optimizer and
    /// schedule configs, callback state such as best metrics) to
    /// `optimizerStateURL(for: url)`. Both writes are atomic; the optimizer
    /// file goes first, and both carry one checkpoint id that `resume` matches.
    /// "schedule_step" records the step the schedule reads next. A resumed
    /// `fit` starts at the beginning of epoch `progress.epoch`, so save at
    /// epoch ends (as `ModelCheckpoint` does) for an exact continuation.
    public func saveCheckpoint(to url: URL) throws {
        let id = UUID().uuidString
        var meta: [String: String] = [
            "format": Self.checkpointFormat, "checkpoint_id": id,
            "epoch": "\(progress.epoch)", "step": "\(progress.step)", "seed": "\(progress.seed)",
            "optimizer_step": "\(optimizer.step)", "schedule_step": "\(optimizer.step)",
            "optimizer": optimizer.optimizer.config.description,
            "callback_state": String(decoding: try JSONEncoder.sorted.encode(progress.callbackState), as: UTF8.self)
        ]
        if let schedule = optimizer.schedule { meta["schedule"] = schedule.config.description }
        if let clip = optimizer.clipNorm { meta["clip_norm"] = "\(clip)" }
        let trainingState = Checkpoint.trainingState(of: model).map { (Self.trainingStatePrefix + $0.name, $0.value) }
        try Checkpoint.save(optimizer.exportState() + trainingState, metadata: meta, to: Self.optimizerStateURL(for: url))
        let weightsMeta = [
            "format": Self.checkpointFormat, "checkpoint_id": id, "epoch": "\(progress.epoch)",
            "step": "\(progress.step)", "optimizer_file": Self.optimizerStateURL(for: url).lastPathComponent
        ]
        try Checkpoint.saveWeights(of: model, metadata: weightsMeta, to: url)
    }

    /// Restores weights, optimizer state and progress written by
    /// `saveCheckpoint(to:)`. Everything is validated before anything
    /// changes: names and shapes against the model, slot names against the
    /// optimizer (which must be of the same type), and that both files come
    /// from the same save. The optimizer's hyperparameters stay as this
    /// trainer has them.
    /// - Throws: `CheckpointError` or `OptimizerStateError`.
    public mutating func resume(from url: URL) throws {
        let optimURL = Self.optimizerStateURL(for: url)
        let (weights, weightsMeta) = try Checkpoint.load(from: url)
        let (state, meta) = try Checkpoint.load(from: optimURL)
        func field(_ key: String) throws -> String {
            guard let v = meta[key] else { throw CheckpointError.badMetadata(file: optimURL.path, reason: "missing '\(key)'") }
            return v
        }
        func integer<T: FixedWidthInteger>(_ key: String, _: T.Type) throws -> T {
            guard let v = T(try field(key)), v >= 0 else {
                throw CheckpointError.badMetadata(file: optimURL.path, reason: "'\(key)' is not a non-negative integer")
            }
            return v
        }
        guard weightsMeta["checkpoint_id"] != nil, weightsMeta["checkpoint_id"] == meta["checkpoint_id"] else {
            throw CheckpointError.badMetadata(
                file: optimURL.path, reason: "belongs to a different save than \(url.lastPathComponent) (checkpoint_id differs)")
        }
        let savedType = try Config(jsonString: try field("optimizer")).typeName()
        let ownType = try optimizer.optimizer.config.typeName()
        guard savedType == ownType else {
            throw CheckpointError.badMetadata(
                file: optimURL.path, reason: "optimizer state is for '\(savedType)', this trainer uses '\(ownType)'")
        }
        let callbackState: [String: String]
        do { callbackState = try JSONDecoder().decode([String: String].self, from: Data(try field("callback_state").utf8)) } catch let e
            as CheckpointError
        { throw e } catch {
            throw CheckpointError.badMetadata(file: optimURL.path, reason: "callback_state is not a JSON object of strings")
        }
        var newModel = model
        try Checkpoint.loadStateDict(weights, into: &newModel, file: url.path)
        // The model's training state, kept apart from the optimizer's slots.
        // Files from before it was saved have none: the counts stay as they are.
        let prefix = Self.trainingStatePrefix
        let savedState = state.filter { $0.key.hasPrefix(prefix) }
        let optimizerState = state.filter { !$0.key.hasPrefix(prefix) }
        if !savedState.isEmpty {
            let expected = Set(Checkpoint.trainingState(of: newModel).map { prefix + $0.name })
            guard Set(savedState.keys) == expected else {
                let missing = expected.subtracting(savedState.keys).sorted()
                let unexpected = Set(savedState.keys).subtracting(expected).sorted()
                throw CheckpointError.badMetadata(
                    file: optimURL.path,
                    reason: "training state does not fit the model (missing: \(missing), unexpected: \(unexpected))")
            }
        }
        var newOptimizer = optimizer
        try newOptimizer.importState(optimizerState, step: try integer("optimizer_step", Int.self), model: newModel)
        var newProgress = TrainingProgress(seed: try integer("seed", UInt64.self))
        newProgress.epoch = try integer("epoch", Int.self)
        newProgress.step = try integer("step", Int.self)
        newProgress.callbackState = callbackState
        // Last, after every other check: the counters are shared with the
        // current model's layers.
        for (name, value) in savedState.sorted(by: { $0.key < $1.key }) {
            do { try Checkpoint.setTrainingState(String(name.dropFirst(prefix.count)), value, on: &newModel) } catch {
                throw CheckpointError.io(file: optimURL.path, reason: "cannot restore '\(name)': \(error)")
            }
        }
        (model, optimizer, progress) = (newModel, newOptimizer, newProgress)
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, for stable metadata.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
