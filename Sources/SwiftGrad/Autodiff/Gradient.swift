/// Something that owns named trainable tensors: a layer, a model, or a plain
/// collection of parameters. Names are dot-separated paths such as
/// `"0.weight"`, matching what a PyTorch user sees in a `state_dict`.
public protocol ParameterContainer {
    /// Calls `visitor` once per trainable parameter, in a stable order, with
    /// the parameter's full name (prefixed by `prefix`) and the tensor itself,
    /// which the visitor may replace with one of the same shape.
    mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void)
}

extension ParameterContainer {
    /// Every trainable parameter by name, in visiting order.
    public var namedParameters: [(name: String, value: Tensor)] {
        var copy = self
        var out: [(name: String, value: Tensor)] = []
        copy.visitParameters(prefix: "") { name, t in out.append((name, t)) }
        return out
    }

    /// The total number of trainable scalars.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.value.count } }
}

/// The joined name of a child parameter: `prefix.name`, or `name` at the root.
public func joinName(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
}

/// Gradients of a scalar with respect to named parameters.
public struct Gradients: Sendable {
    /// The gradient of each parameter, by full name.
    public var byName: [String: Tensor]
    /// Parameter names in the container's visiting order.
    public var names: [String]

    public init(byName: [String: Tensor], names: [String]) {
        self.byName = byName
        self.names = names
    }

    /// The gradient for the parameter named `name`, if it has one.
    public subscript(name: String) -> Tensor? {
        get { byName[name] }
        set { byName[name] = newValue }
    }

    /// The global L2 norm over every gradient.
    public var globalNorm: Float {
        var sum: Double = 0
        for g in byName.values {
            g.withUnsafeBufferPointer { for v in $0 { sum += Double(v) * Double(v) } }
        }
        return Float(sum.squareRoot())
    }

    /// Every gradient multiplied by `factor`.
    public func scaled(by factor: Float) -> Gradients {
        Gradients(byName: byName.mapValues { $0 * factor }, names: names)
    }
}

/// A dictionary of named tensors is itself a parameter container.
extension Dictionary: ParameterContainer where Key == String, Value == Tensor {
    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        for key in keys.sorted() {
            visitor(joinName(prefix, key), &self[key]!)
        }
    }
}

// MARK: - Entry points

private func runOnTape<R>(_ body: (Tape) -> R) -> R {
    let tape = Tape()
    return Tape.$current.withValue(tape) { body(tape) }
}

private func seedFor(_ value: Tensor, caller: String) -> Tensor {
    precondition(value.count == 1, "\(caller): the function must return one scalar, got shape \(value.shape)")
    return Tensor(repeating: 1, shape: value.shape)
}

/// Evaluates `f` at `x` and returns its value with the gradient of that value
/// with respect to `x`. `f` must return a single-element tensor.
public func valueWithGradient(
    at x: Tensor, in f: (Tensor) -> Tensor
) -> (value: Tensor, gradient: Tensor) {
    let (value, grads) = valueWithGradient(at: [x]) { f($0[0]) }
    return (value, grads[0])
}

/// Evaluates `f` at `(x, y)` and returns its value and both gradients.
public func valueWithGradient(
    at x: Tensor, _ y: Tensor, in f: (Tensor, Tensor) -> Tensor
) -> (value: Tensor, gradient: (Tensor, Tensor)) {
    let (value, grads) = valueWithGradient(at: [x, y]) { f($0[0], $0[1]) }
    return (value, (grads[0], grads[1]))
}

/// Evaluates `f` at several tensors and returns its value and the gradient
/// with respect to each (zeros where the value does not depend on one).
public func valueWithGradient(
    at xs: [Tensor], in f: ([Tensor]) -> Tensor
) -> (value: Tensor, gradient: [Tensor]) {
    runOnTape { tape in
        let tracked = xs.map { tape.track($0) }
        let value = f(tracked)
        let seed = seedFor(value, caller: "valueWithGradient")
        let grads = tape.backward(from: value, seed: seed, to: tracked.map { tape.node(of: $0)! })
        return (value.detached, zip(grads, xs).map { $0 ?? Tensor.zeros(like: $1) })
    }
}

/// Evaluates `f` on a parameter container (a model, or `[String: Tensor]`)
/// and returns the value with the gradient of every parameter by name.
public func valueWithGradient<M: ParameterContainer>(
    at model: M, in f: (M) -> Tensor
) -> (value: Tensor, gradient: Gradients) {
    runOnTape { tape in
        var tracked = model
        var names: [String] = []
        var nodes: [Int] = []
        var shapes: [[Int]] = []
        tracked.visitParameters(prefix: "") { name, t in
            t = tape.track(t)
            names.append(name)
            nodes.append(tape.node(of: t)!)
            shapes.append(t.shape)
        }
        let value = f(tracked)
        let seed = seedFor(value, caller: "valueWithGradient")
        let grads = tape.backward(from: value, seed: seed, to: nodes)
        var byName: [String: Tensor] = [:]
        for (i, name) in names.enumerated() {
            byName[name] = grads[i] ?? Tensor.zeros(shapes[i])
        }
        return (value.detached, Gradients(byName: byName, names: names))
    }
}

/// The gradient of `f` at `x`.
public func gradient(at x: Tensor, in f: (Tensor) -> Tensor) -> Tensor {
    valueWithGradient(at: x, in: f).gradient
}

/// The gradients of `f` at `(x, y)`.
public func gradient(at x: Tensor, _ y: Tensor, in f: (Tensor, Tensor) -> Tensor) -> (Tensor, Tensor) {
    valueWithGradient(at: x, y, in: f).gradient
}

/// The gradients of `f` at several tensors.
public func gradient(at xs: [Tensor], in f: ([Tensor]) -> Tensor) -> [Tensor] {
    valueWithGradient(at: xs, in: f).gradient
}

/// The gradient of `f` with respect to every parameter of `model`.
public func gradient<M: ParameterContainer>(at model: M, in f: (M) -> Tensor) -> Gradients {
    valueWithGradient(at: model, in: f).gradient
}
