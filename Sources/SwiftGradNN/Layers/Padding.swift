/// Spatial padding of a convolution or pooling layer, as in configs:
/// `"valid"` (none), `"same"` (output extent ceil(input / stride), odd
/// effective kernels only, since padding is symmetric), an integer, or a
/// pair `[h, w]`.
public enum Padding: Sendable, Equatable {
    /// No padding.
    case valid
    /// Symmetric padding that keeps ceil(input / stride).
    case same
    /// Explicit zero padding on each side.
    case explicit(Size2)

    /// Reads `key` from a config (default `"valid"`).
    public init(config: Config, key: String = "padding") throws {
        guard config.has(key) else {
            self = .valid
            return
        }
        if case .string(let s)? = config[key] {
            switch s {
            case "valid": self = .valid
            case "same": self = .same
            default:
                throw ConfigError.invalidValue(
                    owner: config.owner, field: key, reason: "'\(s)' is not a padding (use \"valid\", \"same\", an integer or [h, w])")
            }
            return
        }
        let p = try config.size2(key)
        guard p.h >= 0, p.w >= 0 else {
            throw ConfigError.invalidValue(owner: config.owner, field: key, reason: "must not be negative, got \(p)")
        }
        self = .explicit(p)
    }

    /// The config value: "valid", "same" or [h, w].
    public var configValue: ConfigValue {
        switch self {
        case .valid: "valid"
        case .same: "same"
        case .explicit(let p): .size(p)
        }
    }

    /// Padding per side for a kernel, with `.same` resolved. Throws when
    /// `.same` meets an even effective kernel extent.
    public func resolve(kernel: Size2, dilation: Size2 = 1, owner: String) throws -> Size2 {
        switch self {
        case .valid: return Size2(0, 0)
        case .explicit(let p): return p
        case .same:
            let eh = dilation.h * (kernel.h - 1) + 1, ew = dilation.w * (kernel.w - 1) + 1
            guard eh % 2 == 1, ew % 2 == 1 else {
                throw ConfigError.invalidValue(
                    owner: owner, field: "padding",
                    reason: "\"same\" needs an odd effective kernel size, got \(Size2(eh, ew)); give explicit padding instead")
            }
            return Size2(eh / 2, ew / 2)
        }
    }
}
