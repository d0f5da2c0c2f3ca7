/// The built-in optimizers, registered exactly as a third-party bundle would.
public enum BuiltinOptimizers {
    /// Registers "sgd", "adam", "adamw", "rmsprop" and "adagrad".
    public static func register(into registry: Registry) {
        registry.register(optimizer: SGD.self)
        registry.register(optimizer: Adam.self)
        registry.register(optimizer: AdamW.self)
        registry.register(optimizer: RMSprop.self)
        registry.register(optimizer: Adagrad.self)
    }
}
