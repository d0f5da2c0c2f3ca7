/// A model whose layers form a directed acyclic graph: skip connections
/// (U-Net), residual sums, several heads. Nodes are evaluated in order, each
/// on earlier nodes or on "input"; parameters are named "<node>.weight".
///
/// ```swift
/// let net = Graph(nodes: [
///     .layer("c1", Conv2D(filters: 8, kernelSize: 3, padding: .same, activation: .relu), input: "input"),
///     .layer("c2", Conv2D(filters: 8, kernelSize: 3, padding: .same), input: "c1"),
///     .add("res", ["c1", "c2"]),
///     .layer("flat", Flatten(), input: "res"),
///     .layer("cls", Dense(units: 10), input: "flat"),
///     .layer("reg", Dense(units: 1), input: "flat"),
/// ], outputs: ["cls", "reg"])
/// ```
///
/// Config: `{"type": "graph", "nodes": [{"name": "c1", "layer": {...},
/// "inputs": ["input"]}, {"name": "cat", "merge": "concatenate", "axis": 1,
/// "inputs": ["c1", "c2"]}, ...], "outputs": ["cls", "reg"]}` (`outputs`
/// defaults to the last node).
public struct Graph: CompositeLayer, MultiOutputLayer {
    public static let typeName = "graph"

    /// The nodes in evaluation order.
    public var nodes: [GraphNode]
    /// Names of the nodes returned, in order.
    public let outputNames: [String]
    /// Per-sample output shape of every node, by name, filled by `build`.
    public private(set) var nodeShapes: [String: [Int]] = [:]

    /// A graph of `nodes` returning `outputs` (default: the last node).
    public init(nodes: [GraphNode], outputs: [String]? = nil) {
        self.nodes = nodes
        outputNames = outputs ?? nodes.last.map { [$0.name] } ?? []
    }

    public init(config: Config) throws {
        try config.checkOnly(["nodes", "outputs"])
        var nodes: [GraphNode] = []
        for (i, entry) in try config.array("nodes").enumerated() {
            guard case .object(let fields) = entry else {
                throw ConfigError.wrongType(owner: config.owner, field: "nodes[\(i)]", expected: "an object", got: entry.kindName)
            }
            let owner = "\(config.owner).nodes[\(i)]"
            nodes.append(try GraphNode(config: Config(fields, owner: owner), previous: nodes.last?.name ?? "input"))
        }
        let outputs =
            try config.has("outputs")
            ? config.array("outputs").map { v -> String in
                guard case .string(let s) = v else {
                    throw ConfigError.wrongType(owner: config.owner, field: "outputs", expected: "an array of node names", got: v.kindName)
                }
                return s
            } : nil
        self.init(nodes: nodes, outputs: outputs)
        try validate(owner: config.owner)
    }

    /// Checks names, references and outputs; throws a `ConfigError`.
    func validate(owner: String) throws {
        var known: Set<String> = ["input"]
        for (i, node) in nodes.enumerated() {
            guard GraphNode.isValidName(node.name), !known.contains(node.name) else {
                throw ConfigError.invalidValue(
                    owner: owner, field: "nodes[\(i)].name",
                    reason: "'\(node.name)' must be unique, not \"input\", and use only letters, digits and '_'")
            }
            for input in node.inputs where !known.contains(input) {
                throw ConfigError.invalidValue(
                    owner: owner, field: "nodes[\(i)].inputs",
                    reason: "'\(input)' is not \"input\" or an earlier node")
            }
            let arity: ClosedRange<Int> = if case .layer = node.operation { 1...1 } else { 1...Int.max }
            guard arity.contains(node.inputs.count) else {
                throw ConfigError.invalidValue(
                    owner: owner, field: "nodes[\(i)].inputs",
                    reason: "a layer node takes exactly one input, got \(node.inputs.count)")
            }
            known.insert(node.name)
        }
        guard !outputNames.isEmpty else {
            throw ConfigError.invalidValue(owner: owner, field: "outputs", reason: "must name at least one node")
        }
        if let bad = outputNames.first(where: { !known.contains($0) || $0 == "input" }) {
            throw ConfigError.invalidValue(owner: owner, field: "outputs", reason: "'\(bad)' is not a node")
        }
    }

    public var config: Config {
        Config([
            "type": .string(Self.typeName), "nodes": .array(nodes.map(\.configValue)),
            "outputs": .array(outputNames.map { .string($0) })
        ])
    }

    /// The number of heads (`outputNames.count`).
    public var outputCount: Int { outputNames.count }
    /// Per-sample shape of each head, filled by `build`.
    public var outputShapes: [[Int]] { outputNames.map { nodeShapes[$0] ?? [] } }

    /// Builds every layer node in order; returns the first output's shape.
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        try validate(owner: Self.typeName)
        var shapes: [String: [Int]] = ["input": inputShape]
        for i in nodes.indices {
            let node = nodes[i]
            let ins = node.inputs.map { shapes[$0]! }
            shapes[node.name] = try withContext("nodes[\(i)] '\(node.name)'") { () throws -> [Int] in
                switch node.operation {
                case .layer(var layer):
                    let out = try layer.build(inputShape: ins[0], generator: &generator)
                    nodes[i].operation = .layer(layer)
                    return out
                case .concatenate(let axis): return try concatenatedShape(ins, axis: axis)
                case .add:
                    guard ins.allSatisfy({ $0 == ins[0] }) else {
                        throw ConfigError.invalidValue(owner: "add", field: "inputs", reason: "have different shapes \(ins)")
                    }
                    return ins[0]
                }
            }
        }
        nodeShapes = shapes
        return shapes[outputNames[0]]!
    }

    /// The per-sample shape of inputs joined along batch axis `axis`.
    func concatenatedShape(_ shapes: [[Int]], axis: Int) throws -> [Int] {
        let rank = shapes[0].count
        let a = (axis < 0 ? axis + rank + 1 : axis) - 1
        guard a >= 0, a < rank, shapes.allSatisfy({ $0.count == rank }) else {
            throw ConfigError.invalidValue(
                owner: "concatenate", field: "axis", reason: "\(axis) does not fit inputs \(shapes) (batch axis 0 excluded)")
        }
        for s in shapes where s.enumerated().contains(where: { $0.offset != a && $0.element != shapes[0][$0.offset] }) {
            throw ConfigError.invalidValue(owner: "concatenate", field: "inputs", reason: "\(shapes) differ off axis \(axis)")
        }
        var out = shapes[0]
        out[a] = shapes.reduce(0) { $0 + $1[a] }
        return out
    }

    /// Evaluates every node on a batch [N, ...inputShape] and returns the
    /// heads in `outputNames` order, each [N, ...outputShapes[i]].
    ///
    /// A node ending in ReLU (`Conv2D` with `.relu`, `ReLU`) that is read
    /// only by a `MaxPool2D` node and is not an output runs with the ReLU
    /// after the pool, as in `Sequential` (a `Conv2D` and its pool as one
    /// op): same values, and gradients equal at least to rounding.
    public func outputs(_ input: Tensor) -> [Tensor] {
        var values: [String: Tensor] = ["input": input]
        let givers = reluHandoffs()
        // A giver runs inside its only reader, the taker (see runHandoff):
        // kept here with its input until then.
        var deferred: [String: (giver: any ReLUGiving, input: Tensor)] = [:]
        for node in nodes {
            switch node.operation {
            case .layer(let layer):
                let x = deferred[node.inputs[0]]?.input ?? values[node.inputs[0]]!
                if givers.contains(node.name), let giver = layer as? any ReLUGiving {
                    deferred[node.name] = (giver, x)
                } else if let giver = deferred[node.inputs[0]]?.giver, let taker = layer as? any ReLUTaking {
                    values[node.name] = runHandoff(giver, taker, x)
                } else {
                    values[node.name] = layer(x)
                }
            case .concatenate(let axis):
                values[node.name] = Tensor.concatenate(node.inputs.map { values[$0]! }, axis: axis)
            case .add:
                let ins = node.inputs.map { values[$0]! }
                values[node.name] = ins.dropFirst().reduce(ins[0], +)
            }
        }
        return outputNames.map { values[$0]! }
    }

    /// Names of the layer nodes whose final ReLU runs in the node reading
    /// them instead (see `ReLUHandoff.swift`): nodes that are not outputs
    /// and are read once, by a layer node that can take the ReLU.
    func reluHandoffs() -> Set<String> {
        var readers: [String: [Int]] = [:]
        for (j, node) in nodes.enumerated() {
            for input in node.inputs { readers[input, default: []].append(j) }
        }
        var givers: Set<String> = []
        for node in nodes {
            guard case .layer(let layer) = node.operation, !outputNames.contains(node.name),
                !node.inputs.contains(where: givers.contains),  // a taker does not give too
                let reader = readers[node.name], reader.count == 1,
                case .layer(let next) = nodes[reader[0]].operation,
                reluHandoff(from: layer, to: next) != nil
            else { continue }
            givers.insert(node.name)
        }
        return givers
    }

    /// The single output. - Precondition: the graph has one output.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(outputNames.count == 1, "Graph: \(outputNames.count) outputs \(outputNames); call outputs(_:)")
        return outputs(input)[0]
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        for i in nodes.indices {
            guard case .layer(var layer) = nodes[i].operation else { continue }
            // Drop the node's copy so parameters stay uniquely referenced and
            // in-place optimizer updates do not copy them.
            nodes[i].operation = .add
            layer.visitParameters(prefix: joinName(prefix, nodes[i].name), visitor)
            nodes[i].operation = .layer(layer)
        }
    }

    public var buffers: [(name: String, value: Tensor)] { nodeEntries { $0.buffers } }

    public mutating func setBuffer(_ name: String, _ value: Tensor) throws {
        try setOnNode(name, kind: "buffer") { try $0.setBuffer($1, value) }
    }

    public var trainingState: [(name: String, value: Tensor)] { nodeEntries { $0.trainingState } }

    public mutating func setTrainingState(_ name: String, _ value: Tensor) throws {
        try setOnNode(name, kind: "state") { try $0.setTrainingState($1, value) }
    }

    /// `entries` of every layer node, each named "node.name".
    private func nodeEntries(
        _ entries: (any Layer) -> [(name: String, value: Tensor)]
    ) -> [(name: String, value: Tensor)] {
        nodes.flatMap { node -> [(name: String, value: Tensor)] in
            guard case .layer(let l) = node.operation else { return [] }
            return entries(l).map { (joinName(node.name, $0.name), $0.value) }
        }
    }

    /// Runs `set` on the layer node that a dotted name "node.rest" starts
    /// with, passing it the rest of the name; `kind` names the entry in errors.
    private mutating func setOnNode(
        _ name: String, kind: String, _ set: (inout any Layer, String) throws -> Void
    ) throws {
        let (head, rest) = splitBufferName(name)
        guard let i = nodes.firstIndex(where: { $0.name == head }), case .layer(var layer) = nodes[i].operation, let rest
        else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: name,
                reason: "names no node \(kind) (expected \"<node>.<\(kind)>\")")
        }
        try set(&layer, rest)
        nodes[i].operation = .layer(layer)
    }

    /// One row per node; merge nodes show as "concatenate"/"add".
    public func summaryRows(prefix: String) -> [LayerSummaryRow] {
        nodes.flatMap { node -> [LayerSummaryRow] in
            let name = joinName(prefix, node.name), shape = nodeShapes[node.name] ?? []
            if case .layer(let l) = node.operation { return layerSummaryRows(of: l, name: name, outputShape: shape) }
            return [LayerSummaryRow(name: name, type: node.typeName, outputShape: shape, parameterCount: 0)]
        }
    }
}
