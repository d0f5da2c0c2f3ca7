/// The built-in layers, registered exactly as a third-party bundle would.
public enum BuiltinLayers {
    /// Registers every built-in layer (and the `sequential`/`graph` containers).
    public static func register(into registry: Registry) {
    }
}
