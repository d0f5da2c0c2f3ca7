/// Collects layers written one per line into `[any Layer]`, for
/// `Sequential { ... }` and `Model(inputShape:seed:) { ... }`. Supports
/// `if`, `if`/`else` and `for` loops.
@resultBuilder
public enum LayerBuilder {
    // Each line becomes a one-element list; blocks, branches and loops concatenate.
    /// One layer.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// A list of layers, spliced in.
    public static func buildExpression(_ layers: [any Layer]) -> [any Layer] { layers }
    /// Lines of a block, in order.
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    /// An `if` without `else`.
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    /// The `if` branch.
    public static func buildEither(first part: [any Layer]) -> [any Layer] { part }
    /// The `else` branch.
    public static func buildEither(second part: [any Layer]) -> [any Layer] { part }
    /// A `for` loop.
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}

/// One row of a model summary: a layer's name, type, per-sample output shape
/// and number of trainable scalars.
public struct LayerSummaryRow: Sendable, Equatable {
    /// The dotted parameter prefix of the layer ("0", "enc.c1").
    public var name: String
    /// The registry type name ("conv2d").
    public var type: String
    /// Per-sample output shape (no batch axis).
    public var outputShape: [Int]
    /// Trainable scalars owned by the layer (its children included).
    public var parameterCount: Int

    /// A row.
    public init(name: String, type: String, outputShape: [Int], parameterCount: Int) {
        (self.name, self.type, self.outputShape, self.parameterCount) = (name, type, outputShape, parameterCount)
    }
}

/// A layer made of named child layers that can list them for
/// `Model.summary()`. `Sequential` and `Graph` conform; a custom composite
/// layer may too.
public protocol CompositeLayer: Layer {
    /// One row per child (composite children expanded), names prefixed by `prefix`.
    func summaryRows(prefix: String) -> [LayerSummaryRow]
}

extension Layer {
    /// The registry type name of this layer's dynamic type.
    var dynamicTypeName: String { Self.typeName }
}
