/// A chain of layers applied in order, like `torch.nn.Sequential`: child i's
/// parameters are named "i.weight", "i.bias", so a Sequential's state dict
/// matches PyTorch's.
///
/// ```swift
/// var body = Sequential {
///     Conv2D(filters: 32, kernelSize: 3, activation: .relu)
///     MaxPool2D(poolSize: 2)
///     Flatten()
///     Dense(units: 10)
/// }
/// let model = try Model(inputShape: [1, 28, 28], seed: 0, root: body)
/// ```
///
/// Config: `{"type": "sequential", "layers": [{"type": "conv2d", ...}, ...]}`.
/// Input [N, ...inputShape] -> the last layer's output.
public struct Sequential: CompositeLayer {
    public static let typeName = "sequential"

    /// The layers, applied first to last.
    public var layers: [any Layer]
    /// Per-sample output shape of each layer, filled by `build`.
    public private(set) var outputShapes: [[Int]] = []

    /// A chain of `layers`.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// A chain written one layer per line.
    public init(@LayerBuilder _ layers: () -> [any Layer]) { self.init(layers()) }

    /// Builds each entry of `layers` from the registry (`Registry.current`).
    public init(config: Config) throws {
        try config.checkOnly(["layers"])
        let entries = try config.array("layers")
        layers = try entries.enumerated().map { i, entry in
            let context = "\(config.owner).layers[\(i)]"
            guard case .object(let fields) = entry else {
                throw ConfigError.wrongType(owner: config.owner, field: "layers[\(i)]", expected: "an object", got: entry.kindName)
            }
            return try withContext(context) { try Registry.current.layer(Config(fields)) }
        }
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "layers": .array(layers.map { .object($0.config.fields) })])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        var shape = inputShape
        outputShapes = []
        for i in layers.indices {
            shape = try withContext("layers[\(i)]") {
                if let multi = layers[i] as? any MultiOutputLayer, multi.outputCount != 1 {
                    throw ConfigError.invalidValue(
                        owner: multi.dynamicTypeName, field: "outputs",
                        reason: "a layer with \(multi.outputCount) outputs cannot be chained in a Sequential")
                }
                return try layers[i].build(inputShape: shape, generator: &generator)
            }
            outputShapes.append(shape)
        }
        return shape
    }

    /// Applies every layer in order. A layer ending in ReLU followed by a max
    /// pool (`Conv2D` with `.relu`, or `ReLU`, then `MaxPool2D`) runs with the
    /// ReLU after the pool, on the smaller tensor: the same values and
    /// gradients, one memory pass fewer each way. A `Conv2D` and its pool
    /// run as one op (`conv2dMaxPool2d`; weight and bias gradients equal to
    /// rounding).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        var i = layers.startIndex
        while i < layers.endIndex {
            if let pair = reluHandoffPair(at: i) {
                x = runHandoff(pair.giver, pair.taker, x)
                i += 2
            } else {
                x = layers[i](x)
                i += 1
            }
        }
        return x
    }

    /// Layers i and i + 1 when layer i's final ReLU can run in layer i + 1.
    func reluHandoffPair(at i: Int) -> (giver: any ReLUGiving, taker: any ReLUTaking)? {
        guard i + 1 < layers.endIndex else { return nil }
        return reluHandoff(from: layers[i], to: layers[i + 1])
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        for i in layers.indices {
            layers[i].visitParameters(prefix: joinName(prefix, String(i)), visitor)
        }
    }

    /// Every child's buffers, named "i.name".
    public var buffers: [(name: String, value: Tensor)] { childEntries { $0.buffers } }

    public mutating func setBuffer(_ name: String, _ value: Tensor) throws {
        try setOnChild(name, kind: "buffer") { try $0.setBuffer($1, value) }
    }

    /// Every child's training state, named "i.name".
    public var trainingState: [(name: String, value: Tensor)] { childEntries { $0.trainingState } }

    public mutating func setTrainingState(_ name: String, _ value: Tensor) throws {
        try setOnChild(name, kind: "state") { try $0.setTrainingState($1, value) }
    }

    /// `entries` of every child, each named "i.name".
    private func childEntries(
        _ entries: (any Layer) -> [(name: String, value: Tensor)]
    ) -> [(name: String, value: Tensor)] {
        layers.enumerated().flatMap { i, layer in entries(layer).map { (joinName(String(i), $0.name), $0.value) } }
    }

    /// Runs `set` on the child that a dotted name "i.rest" starts with,
    /// passing it the rest of the name; `kind` names the entry in errors.
    private mutating func setOnChild(
        _ name: String, kind: String, _ set: (inout any Layer, String) throws -> Void
    ) throws {
        let (head, rest) = splitBufferName(name)
        guard let i = Int(head), layers.indices.contains(i), let rest else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: name,
                reason: "names no child \(kind) (expected \"<index>.<\(kind)>\")")
        }
        try set(&layers[i], rest)
    }

    /// One row per child, named by index; composite children expanded.
    public func summaryRows(prefix: String) -> [LayerSummaryRow] {
        layers.enumerated().flatMap { i, layer in
            layerSummaryRows(
                of: layer, name: joinName(prefix, String(i)), outputShape: outputShapes.indices.contains(i) ? outputShapes[i] : [])
        }
    }
}

/// Splits "a.b.c" into ("a", "b.c"); ("a", nil) without a dot.
func splitBufferName(_ name: String) -> (String, String?) {
    guard let dot = name.firstIndex(of: ".") else { return (name, nil) }
    return (String(name[..<dot]), String(name[name.index(after: dot)...]))
}

/// Summary rows of a child: expanded if composite, else one row.
func layerSummaryRows(of layer: any Layer, name: String, outputShape: [Int]) -> [LayerSummaryRow] {
    if let composite = layer as? any CompositeLayer {
        return composite.summaryRows(prefix: name)
    }
    return [LayerSummaryRow(name: name, type: layer.dynamicTypeName, outputShape: outputShape, parameterCount: layer.parameterCount)]
}
