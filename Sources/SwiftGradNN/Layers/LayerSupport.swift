// Shared helpers for layer implementations: config parsing of sizes, shape
// arithmetic that throws instead of trapping, and the "not built" check.

extension ConfigError {
    /// The same error with `context` (e.g. "layers[2]") prefixed to its owner,
    /// so errors from nested layers say where they come from. An unknown
    /// name inside a context becomes an invalid `type` field of that context.
    public func within(_ context: String) -> ConfigError {
        func join(_ owner: String) -> String { owner.contains("[") ? "\(context).\(owner)" : "\(context) (\(owner))" }
        switch self {
        case .missingField(let o, let f): return .missingField(owner: join(o), field: f)
        case .wrongType(let o, let f, let e, let g): return .wrongType(owner: join(o), field: f, expected: e, got: g)
        case .invalidValue(let o, let f, let r): return .invalidValue(owner: join(o), field: f, reason: r)
        case .unknownName(let kind, let name, let known):
            return .invalidValue(
                owner: context, field: "type",
                reason: "names an unknown \(kind) '\(name)' (registered: \(known.sorted().joined(separator: ", ")))")
        case .malformedJSON: return self
        }
    }
}

/// Runs `body`, prefixing `context` to the owner of any `ConfigError`.
func withContext<R>(_ context: String, _ body: () throws -> R) throws -> R {
    do { return try body() } catch let e as ConfigError { throw e.within(context) }
}

extension Config {
    /// A size (integer or [h, w]) whose components are at least `minimum`.
    func size2(_ key: String, atLeast minimum: Int, default d: Size2? = nil) throws -> Size2 {
        let s = d != nil && !has(key) ? d! : try size2(key)
        guard s.h >= minimum, s.w >= minimum else {
            throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be at least \(minimum), got \(s)")
        }
        return s
    }

    /// The kernel size of a convolution from `kernel_size`, or from its
    /// alias `kernel` (`{"type": "conv2d", "kernel": [3, 3]}`); positive.
    func kernelSize() throws -> Size2 {
        if has("kernel") {
            guard !has("kernel_size") else {
                throw ConfigError.invalidValue(owner: owner, field: "kernel", reason: "duplicates 'kernel_size'; give one of them")
            }
            return try size2("kernel", atLeast: 1)
        }
        return try size2("kernel_size", atLeast: 1)
    }

    /// A float in `range`.
    func float(_ key: String, in range: ClosedRange<Float>, default d: Float) throws -> Float {
        let v = try float(key, default: d)
        guard range.contains(v) else {
            throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be in \(range), got \(v)")
        }
        return v
    }
}

/// Stops with a clear message when a layer is applied before `build`.
func requireBuilt<T>(_ value: T?, _ layer: String) -> T {
    guard let value else {
        preconditionFailure("\(layer): not built; call build(inputShape:generator:) or put the layer in a Model before applying it")
    }
    return value
}

/// Throws unless a per-sample input shape has the expected rank.
func checkRank(_ shape: [Int], _ rank: Int, _ owner: String, expected: String) throws {
    guard shape.count == rank else {
        throw ConfigError.invalidValue(
            owner: owner, field: "input_shape", reason: "expects a per-sample input \(expected), got \(shape)")
    }
}

/// The output extent of a convolution or pooling window along one axis,
/// throwing when the (dilated) kernel does not fit the padded input.
func windowOutput(
    _ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, owner: String, field: String = "kernel_size"
) throws -> Int {
    let effective = dilation * (kernel - 1) + 1
    guard input + 2 * padding >= effective else {
        throw ConfigError.invalidValue(
            owner: owner, field: field,
            reason: "\(kernel) (dilated extent \(effective)) is larger than the padded input extent \(input + 2 * padding)")
    }
    return (input + 2 * padding - effective) / stride + 1
}

/// Broadcastable view of a per-channel vector [C] for [N, C, H, W].
func channelView(_ v: Tensor) -> Tensor { v.reshaped(to: [1, v.count, 1, 1]) }
