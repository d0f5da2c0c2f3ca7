/// How far a training run has come; saved in training checkpoints.
public struct TrainingProgress: Sendable, Equatable {
    /// Completed epochs; the next `fit` epoch is this one (from 0).
    public var epoch = 0
    /// Optimizer updates done by `fit` over the whole run.
    public var step = 0
    /// A user seed recorded with the run (e.g. the model's init seed).
    public var seed: UInt64 = 0
    /// Persistent callback values (`TrainingContext.state`).
    public var callbackState: [String: String] = [:]

    /// A fresh run.
    public init(seed: UInt64 = 0) { self.seed = seed }
}

/// A model with its optimizer, loss and metrics, and the Keras-style
/// `fit` / `evaluate` / `predict` loop around them.
///
/// ```swift
/// var trainer = Trainer(model: model, optimizer: try ParameterUpdater("adam", ["learning_rate": 1e-3]),
///                       loss: SoftmaxCrossEntropyLoss(), metrics: [Accuracy()])
/// let history = try trainer.fit(trainSource, epochs: 10, validationData: testSource,
///                               callbacks: [ModelCheckpoint(path: "ckpt.safetensors")])
/// ```
///
/// Generic over any `ParameterContainer` with a forward closure, so a model
/// can be a `Layer`, a `Model` or a plain struct of tensors.
public struct Trainer<M: ParameterContainer> {
    /// The model being trained.
    public var model: M
    /// The optimizer driver (state, step count, schedule, clipping).
    public var optimizer: ParameterUpdater
    /// Maps (outputs, targets) to a scalar loss.
    public var loss: (Tensor, Tensor) -> Tensor
    /// Runs the model on a batch of inputs.
    public var forward: (M, Tensor) -> Tensor
    /// Metrics computed on training batches and in `evaluate` (reset per epoch).
    public var metrics: [any Metric]
    /// Epochs and steps done, seed, callback state.
    public var progress = TrainingProgress()
    /// Where the progress bar goes.
    public var output: ProgressOutput = .standardOutput

    /// Creates a trainer with an explicit forward function.
    public init(
        model: M, optimizer: ParameterUpdater, loss: @escaping (Tensor, Tensor) -> Tensor,
        metrics: [any Metric] = [], forward: @escaping (M, Tensor) -> Tensor
    ) {
        (self.model, self.optimizer, self.loss, self.metrics, self.forward) = (model, optimizer, loss, metrics, forward)
    }

    /// Creates a trainer with a loss plugin and an explicit forward function.
    public init(
        model: M, optimizer: ParameterUpdater, loss: any Loss, metrics: [any Metric] = [],
        forward: @escaping (M, Tensor) -> Tensor
    ) {
        self.init(model: model, optimizer: optimizer, loss: { loss($0, $1) }, metrics: metrics, forward: forward)
    }

    /// One optimization step on a batch in training mode; returns the loss
    /// and the model outputs (for metrics).
    public mutating func trainStep(_ batch: TrainingBatch) -> (loss: Float, outputs: Tensor) {
        let (forward, lossFn) = (self.forward, self.loss)
        var outputs = Tensor(0)
        let (value, grads) = LearningPhase.with(training: true) {
            valueWithGradient(at: model) { m in
                let out = forward(m, batch.inputs)
                outputs = out.detached
                return lossFn(out, batch.targets)
            }
        }
        optimizer.update(&model, along: grads)
        return (value.scalar, outputs)
    }

    /// The model's outputs for a batch of inputs, in inference mode.
    public func callModel(_ inputs: Tensor) -> Tensor {
        LearningPhase.with(training: false) { withoutGradient { forward(model, inputs) } }
    }

    /// Mean loss (weighted by batch size) and metrics over one pass of
    /// `data`, in inference mode. `metrics` defaults to the trainer's.
    public func evaluate(_ data: any BatchSource, metrics: [any Metric]? = nil, epoch: Int = 0) -> Logs {
        var ms = metrics ?? self.metrics
        for i in ms.indices { ms[i].reset() }
        var lossSum = 0.0, samples = 0
        for batch in data.batches(epoch: epoch) {
            let out = callModel(batch.inputs)
            let n = max(batch.inputs.shape.first ?? 1, 1)
            lossSum += Double(loss(out, batch.targets).scalar) * Double(n)
            samples += n
            for i in ms.indices { ms[i].update(predictions: out, targets: batch.targets) }
        }
        var logs = Logs([("loss", samples == 0 ? 0 : lossSum / Double(samples))])
        for m in ms { logs[m.name] = m.result }
        return logs
    }

    /// Outputs for `inputs` [N, ...], computed `batchSize` rows at a time
    /// and concatenated along axis 0.
    public func predict(_ inputs: Tensor, batchSize: Int = 256) -> Tensor {
        precondition(inputs.rank >= 1 && batchSize >= 1, "predict: need inputs [N, ...] and batchSize >= 1")
        let n = inputs.shape[0]
        guard n > batchSize else { return callModel(inputs) }
        let parts = stride(from: 0, to: n, by: batchSize).map { start in
            callModel(inputs.slice(axis: 0, start..<min(start + batchSize, n)))
        }
        return Tensor.concatenate(parts, axis: 0)
    }

    /// Outputs for every batch of `data` (targets ignored), concatenated along axis 0.
    public func predict(_ data: any BatchSource, epoch: Int = 0) -> Tensor {
        let parts = data.batches(epoch: epoch).map { callModel($0.inputs) }
        precondition(!parts.isEmpty, "predict: the source yielded no batches")
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
    }
}

extension Trainer where M: Layer {
    /// Creates a trainer for a layer, called as `model(inputs)`.
    public init(model: M, optimizer: ParameterUpdater, loss: any Loss, metrics: [any Metric] = []) {
        self.init(model: model, optimizer: optimizer, loss: loss, metrics: metrics, forward: { $0($1) })
    }
}

extension Trainer where M == Model {
    /// Creates a trainer for a built `Model`, called as `model(inputs)`.
    public init(model: Model, optimizer: ParameterUpdater, loss: any Loss, metrics: [any Metric] = []) {
        self.init(model: model, optimizer: optimizer, loss: loss, metrics: metrics, forward: { $0($1) })
    }
}
