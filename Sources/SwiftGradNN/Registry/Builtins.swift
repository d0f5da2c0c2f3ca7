/// The bundles that populate `Registry.shared` (and `Registry.withBuiltins()`).
///
/// Each bundle is a type with `static func register(into registry: Registry)`
/// holding one `registry.register(...)` line per plugin, exactly what a
/// third-party package writes. To add a built-in bundle (optimizers, losses,
/// schedules...), add its `register(into:)` to this list.
extension Registry {
    static let builtinBundles: [@Sendable (Registry) -> Void] = [
        BuiltinLayers.register(into:),
        BuiltinOptimizers.register(into:),
        BuiltinLosses.register(into:),
        BuiltinSchedules.register(into:)
    ]
}
