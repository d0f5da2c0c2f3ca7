import Foundation

/// Plugins by name: layers, optimizers, losses and learning-rate schedules.
///
/// Every plugin is built from a `Config` (a JSON object whose `type` field is
/// the registered name) and writes its config back, so models and training
/// setups round-trip through JSON. Built-in plugins register exactly like
/// third-party ones, one line each in a bundle's `register(into:)`:
///
/// ```swift
/// Registry.shared.register(layer: ScaledTanh.self, as: "mylib.scaled_tanh")
/// Registry.shared.register(optimizer: Lion.self, as: "mylib.lion")
/// let layer = try Registry.shared.layer(Config(["type": "mylib.scaled_tanh"]))
/// let adam = try Registry.shared.optimizer("adam", ["learning_rate": 1e-3])
/// ```
///
/// Names are lowercase `[a-z0-9_.]`, optionally scoped with dots
/// (`"mylib.fancy_adam"`). Registering a name again replaces the earlier
/// entry (the newest registration wins), so a package can override a
/// built-in deliberately. Looking up an unknown name throws
/// `ConfigError.unknownName` listing the registered names.
///
/// All methods are thread-safe.
public final class Registry: @unchecked Sendable {
    /// Builds a loss from its config.
    public typealias LossFactory = @Sendable (Config) throws -> any Loss
    /// Builds a learning-rate schedule from its config.
    public typealias ScheduleFactory = @Sendable (Config) throws -> any LearningRateSchedule

    private let lock = NSLock()
    private var layerTypes: [String: any Layer.Type] = [:]
    private var optimizerTypes: [String: any Optimizer.Type] = [:]
    private var lossFactories: [String: LossFactory] = [:]
    private var scheduleFactories: [String: ScheduleFactory] = [:]

    /// An empty registry (no built-ins); see `Registry.withBuiltins()`.
    public init() {}

    /// A new registry holding every built-in plugin.
    public static func withBuiltins() -> Registry {
        let registry = Registry()
        for bundle in builtinBundles { bundle(registry) }
        return registry
    }

    /// The process-wide registry, pre-populated with the built-in bundles.
    public static let shared: Registry = withBuiltins()

    /// The registry whose `layer(_:)` is running, so containers such as
    /// `Sequential` build nested layer configs from the same registry.
    @TaskLocal static var building: Registry?

    /// The registry to build nested configs from: the one currently building
    /// a layer, or `shared`. Container layers call
    /// `Registry.current.layer(childConfig)` in their `init(config:)`.
    public static var current: Registry { building ?? shared }

    /// True if `name` is a valid plugin name: non-empty, `[a-z0-9_.]`, no
    /// empty dot-separated component.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "."
        }
        return allowed && !name.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty }
    }

    private func checked(_ name: String, _ kind: String) -> String {
        precondition(
            Registry.isValidName(name),
            "Registry: invalid \(kind) name '\(name)' (use lowercase [a-z0-9_.], e.g. \"mylib.fancy_adam\")")
        return name
    }

    // MARK: Registration

    /// Registers a layer type under `name` (default `L.typeName`), replacing
    /// any earlier entry of that name.
    /// - Precondition: the name is valid (see `isValidName`).
    public func register<L: Layer>(layer: L.Type, as name: String? = nil) {
        let key = checked(name ?? L.typeName, "layer")
        lock.withLock { layerTypes[key] = layer }
    }

    /// Registers an optimizer type under `name` (default `O.typeName`),
    /// replacing any earlier entry of that name.
    public func register<O: Optimizer>(optimizer: O.Type, as name: String? = nil) {
        let key = checked(name ?? O.typeName, "optimizer")
        lock.withLock { optimizerTypes[key] = optimizer }
    }

    /// Registers a loss factory under `name`, replacing any earlier entry.
    public func register(loss name: String, _ make: @escaping LossFactory) {
        let key = checked(name, "loss")
        lock.withLock { lossFactories[key] = make }
    }

    /// Registers a learning-rate schedule factory under `name`, replacing any
    /// earlier entry.
    public func register(schedule name: String, _ make: @escaping ScheduleFactory) {
        let key = checked(name, "schedule")
        lock.withLock { scheduleFactories[key] = make }
    }

    // MARK: Names

    /// Registered layer names, sorted.
    public var layerNames: [String] { lock.withLock { layerTypes.keys.sorted() } }
    /// Registered optimizer names, sorted.
    public var optimizerNames: [String] { lock.withLock { optimizerTypes.keys.sorted() } }
    /// Registered loss names, sorted.
    public var lossNames: [String] { lock.withLock { lossFactories.keys.sorted() } }
    /// Registered schedule names, sorted.
    public var scheduleNames: [String] { lock.withLock { scheduleFactories.keys.sorted() } }

    /// The layer type registered under `name`, if any.
    public func layerType(named name: String) -> (any Layer.Type)? { lock.withLock { layerTypes[name] } }
    /// The optimizer type registered under `name`, if any.
    public func optimizerType(named name: String) -> (any Optimizer.Type)? { lock.withLock { optimizerTypes[name] } }

    // MARK: Building

    /// Builds an (unbuilt) layer from a config such as
    /// `{"type": "dense", "units": 10}`. Parameters are created later by
    /// `build(inputShape:generator:)` (a `Model` does this for you).
    public func layer(_ config: Config) throws -> any Layer {
        let name = try config.typeName()
        guard let type = layerType(named: name) else {
            throw ConfigError.unknownName(kind: "layer", name: name, known: layerNames)
        }
        return try Registry.$building.withValue(self) { try type.init(config: config) }
    }

    /// Builds a layer from a JSON object.
    public func layer(json: Data) throws -> any Layer {
        var config = try Config(json: json, owner: "layer")
        if case .string(let type)? = config["type"] { config.owner = type }
        return try layer(config)
    }

    /// Builds an optimizer from a config such as
    /// `{"type": "adam", "learning_rate": 0.001}`.
    public func optimizer(_ config: Config) throws -> any Optimizer {
        let name = try config.typeName()
        guard let type = optimizerType(named: name) else {
            throw ConfigError.unknownName(kind: "optimizer", name: name, known: optimizerNames)
        }
        return try type.init(config: config)
    }

    /// Builds an optimizer by name with the given fields:
    /// `optimizer("adam", ["learning_rate": 1e-3])`.
    public func optimizer(_ name: String, _ fields: [String: ConfigValue] = [:]) throws -> any Optimizer {
        var all = fields
        all["type"] = .string(name)
        return try optimizer(Config(all, owner: name))
    }

    /// Builds a loss from a config such as `{"type": "softmax_cross_entropy"}`.
    public func loss(_ config: Config) throws -> any Loss {
        let name = try config.typeName()
        guard let make = lock.withLock({ lossFactories[name] }) else {
            throw ConfigError.unknownName(kind: "loss", name: name, known: lossNames)
        }
        return try make(config)
    }

    /// Builds a learning-rate schedule from a config such as
    /// `{"type": "step", "step_size": 10, "gamma": 0.1}`.
    public func schedule(_ config: Config) throws -> any LearningRateSchedule {
        let name = try config.typeName()
        guard let make = lock.withLock({ scheduleFactories[name] }) else {
            throw ConfigError.unknownName(kind: "schedule", name: name, known: scheduleNames)
        }
        return try make(config)
    }
}
