/// The built-in layers, registered exactly as a third-party bundle would.
public enum BuiltinLayers {
    /// Registers every built-in layer and the `sequential`/`graph` containers.
    public static func register(into registry: Registry) {
        registry.register(layer: Dense.self)
        registry.register(layer: Conv2D.self)
        registry.register(layer: ConvTranspose2D.self)
        registry.register(layer: MaxPool2D.self)
        registry.register(layer: AvgPool2D.self)
        registry.register(layer: GlobalAvgPool2D.self)
        registry.register(layer: Flatten.self)
        registry.register(layer: Reshape.self)
        registry.register(layer: Dropout.self)
        registry.register(layer: BatchNorm2D.self)
        registry.register(layer: ReLU.self)
        registry.register(layer: LeakyReLU.self)
        registry.register(layer: Sigmoid.self)
        registry.register(layer: Tanh.self)
        registry.register(layer: Softmax.self)
        registry.register(layer: Sequential.self)
        registry.register(layer: Graph.self)
        registry.register(layer: UNet.self)
    }
}
