import Foundation

/// Named scalar results in insertion order ("loss", "accuracy",
/// "val_loss"...), as passed to callbacks and stored in `History`.
public struct Logs: Sendable, Equatable, Sequence, CustomStringConvertible {
    /// Keys in insertion order.
    public private(set) var keys: [String] = []
    private var values: [String: Double] = [:]

    /// Empty logs.
    public init() {}

    /// Logs from ordered pairs.
    public init(_ pairs: [(String, Double)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The value for `key`; setting a new key appends it, nil removes it.
    public subscript(key: String) -> Double? {
        get { values[key] }
        set {
            if newValue != nil, values[key] == nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    /// Adds every entry of `other`, prefixing keys with `prefix` ("val_").
    public mutating func merge(_ other: Logs, prefix: String = "") {
        for (k, v) in other { self[prefix + k] = v }
    }

    /// Pairs in key order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: Double)]> {
        keys.map { (key: $0, value: values[$0]!) }.makeIterator()
    }

    /// "loss: 0.1234 - accuracy: 0.9876".
    public var description: String {
        keys.map { "\($0): \(formatLogValue(values[$0]!))" }.joined(separator: " - ")
    }
}

/// Four significant decimals, switching to exponent form for tiny or huge values.
func formatLogValue(_ v: Double) -> String {
    if v == 0 || (abs(v) >= 1e-3 && abs(v) < 1e6) { return String(format: "%.4f", v) }
    return String(format: "%.4e", v)
}

/// What `fit` returns: one `Logs` per epoch run, in order.
public struct History: Sendable, Equatable {
    /// The logs of each epoch (epoch numbers in the "epoch" key, from 1).
    public var epochs: [Logs] = []
    /// True if a callback stopped training early.
    public var stoppedEarly = false
    /// Peak resident memory of the process when `fit` returned, if known.
    public var peakRSSBytes: Int?

    /// Creates an empty history.
    public init() {}

    /// The values of one key across epochs (nil where missing).
    public func values(_ key: String) -> [Double?] { epochs.map { $0[key] } }
}
