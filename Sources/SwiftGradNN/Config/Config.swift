import Foundation

/// A JSON value as found in model and optimizer configs.
public enum ConfigValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([ConfigValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: ConfigValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            if d == d.rounded(), Swift.abs(d) < 1e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// A short name of the JSON kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var description: String {
        let data = (try? Config.encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Errors in configs, registry look-ups and anything read from outside.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case malformedJSON(String)
    case missingField(owner: String, field: String)
    case wrongType(owner: String, field: String, expected: String, got: String)
    case invalidValue(owner: String, field: String, reason: String)
    case unknownName(kind: String, name: String, known: [String])

    public var description: String {
        switch self {
        case .malformedJSON(let why): "malformed JSON config: \(why)"
        case .missingField(let owner, let field): "\(owner): missing field '\(field)'"
        case .wrongType(let owner, let field, let expected, let got):
            "\(owner): field '\(field)' should be \(expected), got \(got)"
        case .invalidValue(let owner, let field, let reason): "\(owner): field '\(field)' \(reason)"
        case .unknownName(let kind, let name, let known):
            "unknown \(kind) '\(name)' (registered: \(known.sorted().joined(separator: ", ")))"
        }
    }
}

/// A JSON object describing one plugin: `{"type": "conv2d", "filters": 32}`.
/// Typed accessors throw a `ConfigError` naming the field and what was expected.
public struct Config: Sendable, Equatable, CustomStringConvertible {
    /// The fields, `type` included.
    public var fields: [String: ConfigValue]
    /// Who reads this config, for error messages ("conv2d", "layers[3]"...).
    public var owner: String

    public init(_ fields: [String: ConfigValue] = [:], owner: String? = nil) {
        self.fields = fields
        if let owner { self.owner = owner } else if case .string(let t)? = fields["type"] { self.owner = t } else { self.owner = "config" }
    }

    /// Parses a JSON object.
    public init(json data: Data, owner: String = "config") throws {
        let value: ConfigValue
        do { value = try JSONDecoder().decode(ConfigValue.self, from: data) } catch {
            throw ConfigError.malformedJSON(Config.explain(error))
        }
        guard case .object(let o) = value else {
            throw ConfigError.malformedJSON("top level is \(value.kindName), expected an object")
        }
        self.init(o, owner: owner)
    }

    /// Parses a JSON object from a string.
    public init(jsonString: String, owner: String = "config") throws {
        try self.init(json: Data(jsonString.utf8), owner: owner)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// The config as compact JSON with sorted keys.
    public var jsonData: Data { (try? Config.encoder.encode(ConfigValue.object(fields))) ?? Data() }
    public var description: String { String(decoding: jsonData, as: UTF8.self) }

    static func explain(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error {
            return (ctx.underlyingError as NSError?)?.localizedDescription ?? ctx.debugDescription
        }
        return "\(error)"
    }

    public subscript(key: String) -> ConfigValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// The plugin name in `type`.
    public func typeName() throws -> String { try string("type") }

    // MARK: Typed accessors

    private func value(_ key: String) throws -> ConfigValue {
        guard let v = fields[key], v != .null else { throw ConfigError.missingField(owner: owner, field: key) }
        return v
    }

    private func wrong(_ key: String, _ expected: String, _ got: ConfigValue) -> ConfigError {
        .wrongType(owner: owner, field: key, expected: expected, got: got.kindName)
    }

    public func has(_ key: String) -> Bool { fields[key] != nil && fields[key] != .null }

    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw wrong(key, "a string", v) }
        return s
    }

    public func string(_ key: String, default d: String) throws -> String { has(key) ? try string(key) : d }

    public func double(_ key: String) throws -> Double {
        let v = try value(key)
        guard case .number(let d) = v else { throw wrong(key, "a number", v) }
        guard d.isFinite else { throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be finite") }
        return d
    }

    public func double(_ key: String, default d: Double) throws -> Double { has(key) ? try double(key) : d }
    public func float(_ key: String) throws -> Float { Float(try double(key)) }
    public func float(_ key: String, default d: Float) throws -> Float { has(key) ? try float(key) : d }

    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard case .number(let d) = v, d == d.rounded(), Swift.abs(d) < 1e15 else { throw wrong(key, "an integer", v) }
        return Int(d)
    }

    public func int(_ key: String, default d: Int) throws -> Int { has(key) ? try int(key) : d }

    /// An integer at least `minimum`.
    public func int(_ key: String, atLeast minimum: Int, default d: Int? = nil) throws -> Int {
        let v = d != nil && !has(key) ? d! : try int(key)
        guard v >= minimum else {
            throw ConfigError.invalidValue(owner: owner, field: key, reason: "must be at least \(minimum), got \(v)")
        }
        return v
    }

    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard case .bool(let b) = v else { throw wrong(key, "a boolean", v) }
        return b
    }

    public func bool(_ key: String, default d: Bool) throws -> Bool { has(key) ? try bool(key) : d }

    /// Either one integer n (meaning (n, n)) or a pair [h, w].
    public func size2(_ key: String) throws -> Size2 {
        let v = try value(key)
        switch v {
        case .number:
            let n = try int(key)
            return Size2(n, n)
        case .array(let a) where a.count == 2:
            guard case .number(let h) = a[0], case .number(let w) = a[1], h == h.rounded(), w == w.rounded() else {
                throw wrong(key, "an integer or a pair of integers", v)
            }
            return Size2(Int(h), Int(w))
        default: throw wrong(key, "an integer or a pair of integers", v)
        }
    }

    public func size2(_ key: String, default d: Size2) throws -> Size2 { has(key) ? try size2(key) : d }

    public func intArray(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard case .array(let a) = v else { throw wrong(key, "an array of integers", v) }
        return try a.map { e in
            guard case .number(let d) = e, d == d.rounded() else { throw wrong(key, "an array of integers", v) }
            return Int(d)
        }
    }

    public func array(_ key: String) throws -> [ConfigValue] {
        let v = try value(key)
        guard case .array(let a) = v else { throw wrong(key, "an array", v) }
        return a
    }

    /// A nested object as a config whose owner names the path.
    public func object(_ key: String) throws -> Config {
        let v = try value(key)
        guard case .object(let o) = v else { throw wrong(key, "an object", v) }
        return Config(o, owner: "\(owner).\(key)")
    }

    /// Throws if the config has fields outside `allowed` (and `type`), so a
    /// misspelt option is reported instead of silently ignored.
    public func checkOnly(_ allowed: [String]) throws {
        let extra = Set(fields.keys).subtracting(allowed + ["type", "name"])
        if let first = extra.sorted().first {
            throw ConfigError.invalidValue(
                owner: owner, field: first, reason: "is not an option (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }
}

extension ConfigValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(integerLiteral v: Int) { self = .number(Double(v)) }
    public init(floatLiteral v: Double) { self = .number(v) }
    public init(stringLiteral v: String) { self = .string(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(arrayLiteral elements: ConfigValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }

    /// A number value from any integer or float.
    public static func int(_ v: Int) -> ConfigValue { .number(Double(v)) }
    public static func float(_ v: Float) -> ConfigValue { .number(Double(v)) }
    /// A size as [h, w].
    public static func size(_ s: Size2) -> ConfigValue { .array([.int(s.h), .int(s.w)]) }
}
