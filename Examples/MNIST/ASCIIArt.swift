/// Renders 28x28 grayscale digits as text, several side by side.
enum ASCIIArt {
    static let ramp: [Character] = Array(" .:-=+*#%@")

    /// Rows of text for one image of `rows` x `cols` bytes, halving the rows
    /// so the digit keeps its aspect ratio in a terminal.
    static func render(_ pixels: ArraySlice<UInt8>, rows: Int, cols: Int) -> [String] {
        let start = pixels.startIndex
        return stride(from: 0, to: rows - 1, by: 2).map { y in
            String(
                (0..<cols).map { x -> Character in
                    let v = (Int(pixels[start + y * cols + x]) + Int(pixels[start + (y + 1) * cols + x])) / 2
                    return ramp[min(ramp.count - 1, v * ramp.count / 256)]
                })
        }
    }

    /// Images side by side, each captioned with its label line.
    static func sideBySide(_ images: [[String]], captions: [String], gap: Int = 3) -> String {
        guard let height = images.first?.count else { return "" }
        let width = images.first?.first?.count ?? 0
        let pad = String(repeating: " ", count: gap)
        var lines = (0..<height).map { row in images.map { $0[row] }.joined(separator: pad) }
        lines.append(captions.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: pad))
        return lines.joined(separator: "\n")
    }
}
