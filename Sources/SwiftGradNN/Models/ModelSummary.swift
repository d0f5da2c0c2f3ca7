import Foundation

extension Model {
    /// One row per layer (composites expanded), as shown by `summary()`.
    public var summaryRows: [LayerSummaryRow] {
        layerSummaryRows(of: root, name: "", outputShape: outputShape).map { row in
            var r = row
            if r.name.isEmpty { r.name = "(root)" }
            return r
        }
    }

    /// A Keras-style table of layers, output shapes and parameter counts:
    ///
    /// ```
    /// Layer (type)              Output shape        Param #
    /// =====================================================
    /// 0 (conv2d)                [32, 26, 26]            320
    /// ...
    /// Total params: 93,322
    /// ```
    public func summary() -> String {
        let rows = summaryRows
        let header = ("Layer (type)", "Output shape", "Param #")
        let cells = rows.map { ("\($0.name) (\($0.type))", "\($0.outputShape)", Self.grouped($0.parameterCount)) }
        let w0 = max(header.0.count, cells.map(\.0.count).max() ?? 0) + 2
        let w1 = max(header.1.count, cells.map(\.1.count).max() ?? 0) + 2
        let w2 = max(header.2.count, cells.map(\.2.count).max() ?? 0)
        func line(_ a: String, _ b: String, _ c: String) -> String {
            a.padding(toLength: w0, withPad: " ", startingAt: 0) + b.padding(toLength: w1, withPad: " ", startingAt: 0)
                + String(repeating: " ", count: w2 - c.count) + c
        }
        let rule = String(repeating: "=", count: w0 + w1 + w2)
        var out = ["Model: \(root.dynamicTypeName), input shape \(inputShape), seed \(seed)", line(header.0, header.1, header.2), rule]
        out += cells.map { line($0.0, $0.1, $0.2) }
        let bufferCount = buffers.reduce(0) { $0 + $1.value.count }
        out += [
            rule, "Total params: \(Self.grouped(parameterCount))", "Trainable params: \(Self.grouped(parameterCount))",
            "Non-trainable buffers: \(Self.grouped(bufferCount))"
        ]
        return out.joined(separator: "\n")
    }

    /// 93322 -> "93,322".
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
