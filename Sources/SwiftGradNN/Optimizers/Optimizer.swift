/// An optimizer updates one parameter at a time from its gradient and its own
/// per-parameter state (mlx-swift's `newState` + `applySingle`). The generic
/// driver `ParameterUpdater` walks a model's parameters by name and keeps the
/// state, so each optimizer only states its update rule.
public protocol Optimizer: Sendable {
    /// The default registry name, e.g. "adam".
    static var typeName: String { get }
    /// Builds from a config (`learning_rate` and the optimizer's own fields).
    init(config: Config) throws
    /// The config that rebuilds this optimizer, `type` included.
    var config: Config { get }
    /// The base learning rate (schedules scale it per step).
    var learningRate: Float { get set }
    /// Fresh state slots for a parameter, by slot name ("m", "v", ...).
    func newState(for parameter: Tensor) -> [String: Tensor]
    /// Updates `parameter` in place. `step` counts from 1; `learningRate` is
    /// the scheduled rate for this step.
    func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate: Float)
}
