/// A layer with several outputs (a two-headed `Graph`). `callAsFunction`
/// returns the only output; `outputs(_:)` returns all of them.
public protocol MultiOutputLayer: Layer {
    /// The number of outputs.
    var outputCount: Int { get }
    /// Per-sample output shapes, filled by `build`.
    var outputShapes: [[Int]] { get }
    /// Every output for a batch input, in order.
    func outputs(_ input: Tensor) -> [Tensor]
}

/// One node of a `Graph`: a named layer or merge applied to earlier nodes
/// (or to "input", the graph's input).
public struct GraphNode: Sendable {
    /// What a node computes.
    public enum Operation: Sendable {
        /// A layer applied to the node's single input.
        case layer(any Layer)
        /// Inputs joined along `axis` of the batch tensor (1 = channels).
        case concatenate(axis: Int)
        /// The element-wise sum of inputs of one shape (residual connections).
        case add
    }

    /// The node's name: letters, digits and '_', unique, not "input". Also
    /// the parameter prefix ("c1.weight").
    public var name: String
    /// What the node computes.
    public var operation: Operation
    /// Names of earlier nodes or "input".
    public var inputs: [String]

    /// A node computing `operation` on the named `inputs`.
    public init(name: String, operation: Operation, inputs: [String]) {
        (self.name, self.operation, self.inputs) = (name, operation, inputs)
    }

    /// A node applying `layer` to one input.
    public static func layer(_ name: String, _ layer: any Layer, input: String) -> GraphNode {
        GraphNode(name: name, operation: .layer(layer), inputs: [input])
    }

    /// A node concatenating `inputs` along `axis` of the batch tensor.
    public static func concatenate(_ name: String, _ inputs: [String], axis: Int = 1) -> GraphNode {
        GraphNode(name: name, operation: .concatenate(axis: axis), inputs: inputs)
    }

    /// A node summing `inputs` element-wise.
    public static func add(_ name: String, _ inputs: [String]) -> GraphNode {
        GraphNode(name: name, operation: .add, inputs: inputs)
    }

    /// True if `name` is usable as a node name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "input"
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
            }
    }

    /// Parses `{"name": "c1", "layer": {...}, "inputs": ["input"]}` or
    /// `{"name": "cat", "merge": "concatenate", "axis": 1, "inputs": [...]}`
    /// (`merge` is "concatenate" or "add"). `inputs` defaults to the previous
    /// node (or "input" for the first).
    init(config: Config, previous: String) throws {
        name = try config.string("name")
        inputs =
            config.has("inputs")
            ? try config.array("inputs").map { v in
                guard case .string(let s) = v else {
                    throw ConfigError.wrongType(owner: config.owner, field: "inputs", expected: "an array of node names", got: v.kindName)
                }
                return s
            } : [previous]
        if config.has("layer") {
            try config.checkOnly(["layer", "inputs"])
            let sub = try config.object("layer")
            operation = .layer(try withContext(config.owner) { try Registry.current.layer(Config(sub.fields)) })
        } else if config.has("merge") {
            let kind = try config.string("merge")
            switch kind {
            case "concatenate":
                try config.checkOnly(["merge", "inputs", "axis"])
                operation = .concatenate(axis: try config.int("axis", default: 1))
            case "add":
                try config.checkOnly(["merge", "inputs"])
                operation = .add
            default:
                throw ConfigError.invalidValue(owner: config.owner, field: "merge", reason: "'\(kind)' is not a merge (concatenate, add)")
            }
        } else {
            throw ConfigError.missingField(owner: config.owner, field: "layer")
        }
    }

    /// The node's config.
    var configValue: ConfigValue {
        var fields: [String: ConfigValue] = ["name": .string(name), "inputs": .array(inputs.map { .string($0) })]
        switch operation {
        case .layer(let l): fields["layer"] = .object(l.config.fields)
        case .concatenate(let axis):
            fields["merge"] = "concatenate"
            fields["axis"] = .int(axis)
        case .add: fields["merge"] = "add"
        }
        return .object(fields)
    }

    /// The type shown in summaries.
    var typeName: String {
        switch operation {
        case .layer(let l): l.dynamicTypeName
        case .concatenate: "concatenate"
        case .add: "add"
        }
    }
}
