import XCTest

@testable import SwiftGradNN

/// Asserts that `body` throws a `ConfigError` whose description contains
/// every string in `fragments`.
func assertConfigError<T>(
    _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected a ConfigError containing \(fragments)", file: file, line: line)
    } catch let error as ConfigError {
        for f in fragments where !error.description.contains(f) {
            XCTFail("error \"\(error)\" does not mention \"\(f)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
    }
}

/// A layer built on `inputShape` from `seed`.
func built<L: Layer>(_ layer: L, _ inputShape: [Int], seed: UInt64 = 0) throws -> L {
    var l = layer
    var g = SeededGenerator(seed: seed)
    _ = try l.build(inputShape: inputShape, generator: &g)
    return l
}

/// A random tensor in [-1, 1].
func randomTensor(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, lower: -1, upper: 1, generator: &g)
}

/// Asserts two float arrays agree element-wise.
func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "element counts differ", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where Swift.abs(x - y) > tolerance * max(1, Swift.abs(y)) {
        XCTFail("element \(i): \(x) vs \(y)", file: file, line: line)
        return
    }
}
