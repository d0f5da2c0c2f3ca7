import Foundation

/// How a weight or bias is initialized, named as in configs.
///
/// Keras-style configs default to `glorot_uniform` kernels and `zeros` biases.
/// `pytorch` is PyTorch's default for `nn.Linear`/`nn.Conv2d`:
/// kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)), for
/// both weight and bias (the bias uses the weight's fan-in).
public enum Initializer: String, Sendable, CaseIterable {
    case glorotUniform = "glorot_uniform"
    case glorotNormal = "glorot_normal"
    case heNormal = "he_normal"
    case heUniform = "he_uniform"
    case pytorch
    case zeros
    case ones

    /// A tensor of `shape` for a weight whose fans are `fans` (from
    /// `Tensor.fans(weightShape)`; for a bias pass the weight's fans).
    public func make(_ shape: [Int], fans: (fanIn: Int, fanOut: Int), generator: inout SeededGenerator) -> Tensor {
        let fanIn = max(fans.fanIn, 1), fanOut = max(fans.fanOut, 1)
        switch self {
        case .glorotUniform: return .glorotUniform(shape, fanIn: fanIn, fanOut: fanOut, generator: &generator)
        case .glorotNormal: return .glorotNormal(shape, fanIn: fanIn, fanOut: fanOut, generator: &generator)
        case .heNormal: return .heNormal(shape, fanIn: fanIn, generator: &generator)
        case .heUniform: return .heUniform(shape, fanIn: fanIn, generator: &generator)
        case .pytorch:
            let bound = Float(1 / Double(fanIn).squareRoot())
            return .uniform(shape, lower: -bound, upper: bound, generator: &generator)
        case .zeros: return .zeros(shape)
        case .ones: return .ones(shape)
        }
    }

    /// Reads `key` from a config, `fallback` when absent.
    public init(config: Config, key: String, default fallback: Initializer) throws {
        let name = try config.string(key, default: fallback.rawValue)
        guard let i = Initializer(rawValue: name) else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: key,
                reason: "'\(name)' is not an initializer (known: \(Initializer.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = i
    }

    /// The default bias initializer for a kernel initializer: `pytorch` keeps
    /// PyTorch's uniform bias, everything else uses Keras's zeros.
    public var defaultBias: Initializer { self == .pytorch ? .pytorch : .zeros }
}
