import Foundation
import XCTest

@testable import SwiftGradData

/// A fresh directory under the system temp folder, removed by `cleanup`.
final class TempDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sgd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside this directory.
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `bytes` to `name` and returns the full path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let full = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes a small MNIST-format dataset: `trainCount`/`testCount` images of
/// `rows x cols` where pixel (r, c) of image n is `(n * 7 + r * cols + c) % 256`
/// and label n is `labelOf(n)`.
func writeTinyIDXDataset(
    in dir: TempDirectory, trainCount: Int = 5, testCount: Int = 3, rows: Int = 4, cols: Int = 3,
    prefix: String = "", gzip: Bool = true, labelOf: (Int) -> UInt8 = { UInt8($0 % 10) }
) throws {
    for (name, count) in [("train", trainCount), ("t10k", testCount)] {
        var pixels: [UInt8] = []
        for n in 0..<count {
            for k in 0..<(rows * cols) { pixels.append(UInt8((n * 7 + k) % 256)) }
        }
        let images = IDXFile(dimensions: [count, rows, cols], bytes: pixels).encoded()
        let labels = IDXFile(dimensions: [count], bytes: (0..<count).map(labelOf)).encoded()
        let suffix = gzip ? ".gz" : ""
        try dir.write(gzip ? try Zlib.gzip(images) : images, to: "\(prefix)\(name)-images-idx3-ubyte\(suffix)")
        try dir.write(gzip ? try Zlib.gzip(labels) : labels, to: "\(prefix)\(name)-labels-idx1-ubyte\(suffix)")
    }
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(
    _ expected: DataError, _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing thrown", file: file, line: line)
    } catch let error as DataError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// The bundled MNIST directory (`<package>/Data/mnist`), found from this file's path.
let bundledMNISTDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }  // file, SwiftGradDataTests, Tests
    return url.appendingPathComponent("Data/mnist").path
}()

/// MD5 (RFC 1321), written out here to check the bundled data's published digests.
func md5Hex(_ message: [UInt8]) -> String {
    let shifts: [UInt32] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
    let k: [UInt32] = (0..<64).map { i in UInt32(truncatingIfNeeded: Int64(abs(sin(Double(i + 1))) * 4_294_967_296)) }
    var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476]
    var data = message
    let bitLength = UInt64(message.count) * 8
    data.append(0x80)
    while data.count % 64 != 56 { data.append(0) }
    for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
    var words = [UInt32](repeating: 0, count: 16)
    for chunk in stride(from: 0, to: data.count, by: 64) {
        for i in 0..<16 {
            let o = chunk + 4 * i
            words[i] = UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
        }
        var (a, b, c, d) = (state[0], state[1], state[2], state[3])
        for i in 0..<64 {
            var f: UInt32
            let g: Int
            switch i / 16 {
            case 0: (f, g) = ((b & c) | (~b & d), i)
            case 1: (f, g) = ((d & b) | (~d & c), (5 * i + 1) % 16)
            case 2: (f, g) = (b ^ c ^ d, (3 * i + 5) % 16)
            default: (f, g) = (c ^ (b | ~d), (7 * i) % 16)
            }
            f = f &+ a &+ k[i] &+ words[g]
            let s = shifts[(i / 16) * 4 + i % 4]
            (a, d, c) = (d, c, b)
            b = b &+ ((f << s) | (f >> (32 - s)))
        }
        state = [state[0] &+ a, state[1] &+ b, state[2] &+ c, state[3] &+ d]
    }
    return state.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
        .map { String(format: "%02x", $0) }.joined()
}
