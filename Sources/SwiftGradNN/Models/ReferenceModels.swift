import Foundation

/// Reference architectures used by the examples, benchmarks and tests.
public enum ReferenceModels {
    /// The reference MNIST CNN as a model config (93,322 parameters):
    /// [1, 28, 28] -> Conv2D 32 3x3 ReLU -> MaxPool 2 -> Conv2D 64 3x3 ReLU
    /// -> MaxPool 2 -> Conv2D 64 3x3 ReLU -> Flatten -> Dense 64 ReLU ->
    /// Dense 10 (logits; the softmax is part of the loss).
    public static let mnistCNNConfig = """
        {
          "type": "sequential",
          "input_shape": [1, 28, 28],
          "seed": 0,
          "layers": [
            {"type": "conv2d", "filters": 32, "kernel_size": 3, "activation": "relu"},
            {"type": "max_pool2d", "pool_size": 2},
            {"type": "conv2d", "filters": 64, "kernel_size": 3, "activation": "relu"},
            {"type": "max_pool2d", "pool_size": 2},
            {"type": "conv2d", "filters": 64, "kernel_size": 3, "activation": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 64, "activation": "relu"},
            {"type": "dense", "units": 10}
          ]
        }
        """

    /// The reference MNIST CNN built from `mnistCNNConfig` with `seed`:
    /// input [N, 1, 28, 28] -> logits [N, 10].
    public static func mnistCNN(seed: UInt64 = 0, registry: Registry = .shared) throws -> Model {
        var config = try Config(jsonString: mnistCNNConfig, owner: "mnist_cnn")
        config["seed"] = .number(Double(seed))
        return try registry.model(config: config)
    }
}
