import Foundation
import XCTest

@testable import SwiftGradNN

final class ScheduleTests: XCTestCase {
    let registry = trainingRegistry()

    func schedule(_ json: String) throws -> any LearningRateSchedule {
        try registry.schedule(Config(jsonString: json))
    }

    func rates(_ s: any LearningRateSchedule, base: Float = 1, steps: Range<Int>) -> [Double] {
        steps.map { Double(s.learningRate(base: base, step: $0)) }
    }

    func assertClose(_ a: [Double], _ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, "\(a) vs \(b)", file: file, line: line) }
    }

    func testConstantStepExponential() throws {
        assertClose(rates(try schedule(#"{"type": "constant"}"#), base: 0.3, steps: 0..<3), [0.3, 0.3, 0.3].map { Double(Float($0)) })
        assertClose(
            rates(try schedule(#"{"type": "step", "step_size": 3, "gamma": 0.5}"#), steps: 0..<7),
            [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        let smooth = try schedule(#"{"type": "exponential", "decay_rate": 0.5, "decay_steps": 2}"#)
        assertClose(rates(smooth, steps: 0..<4), (0..<4).map { pow(0.5, Double($0) / 2) })
        let stairs = try schedule(#"{"type": "exponential", "decay_rate": 0.5, "decay_steps": 2, "staircase": true}"#)
        assertClose(rates(stairs, steps: 0..<4), [1, 1, 0.5, 0.5])
    }

    func testCosineWithAbsoluteAndRelativeFloor() throws {
        let absolute = try schedule(#"{"type": "cosine", "total_steps": 4, "min_lr": 0.1}"#)
        let expected = (0..<6).map { s -> Double in
            0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * Double(min(s, 4)) / 4))
        }
        assertClose(rates(absolute, steps: 0..<6), expected)
        let relative = try schedule(#"{"type": "cosine", "total_steps": 10, "alpha": 0.2}"#)
        XCTAssertEqual(Double(relative.learningRate(base: 0.5, step: 10)), 0.1, accuracy: 1e-7)
        XCTAssertEqual(Double(relative.learningRate(base: 0.5, step: 0)), 0.5, accuracy: 1e-7)
        XCTAssertThrowsError(try schedule(#"{"type": "cosine", "total_steps": 10, "alpha": 0.2, "min_lr": 0}"#))
    }

    func testLinearWarmupThenInner() throws {
        let s = try schedule(#"{"type": "linear_warmup", "warmup_steps": 4, "after": {"type": "step", "step_size": 2, "gamma": 0.1}}"#)
        assertClose(rates(s, steps: 0..<8), [0.25, 0.5, 0.75, 1, 1, 1, 0.1, 0.1])
        let plain = try schedule(#"{"type": "linear_warmup", "warmup_steps": 2}"#)
        assertClose(rates(plain, steps: 0..<4), [0.5, 1, 1, 1])
    }

    func testConfigsRoundTripAndErrors() throws {
        for json in [
            #"{"type": "constant"}"#, #"{"type": "step", "step_size": 3, "gamma": 0.5}"#,
            #"{"type": "exponential", "decay_rate": 0.9, "decay_steps": 10}"#,
            #"{"type": "cosine", "total_steps": 100, "alpha": 0.1}"#,
            #"{"type": "linear_warmup", "warmup_steps": 5, "after": {"type": "cosine", "total_steps": 50}}"#
        ] {
            let s = try schedule(json)
            let again = try registry.schedule(Config(json: s.config.jsonData))
            XCTAssertEqual(again.config, s.config)
            XCTAssertEqual(rates(again, steps: 0..<60), rates(s, steps: 0..<60))
        }
        XCTAssertThrowsError(try schedule(#"{"type": "step"}"#)) { XCTAssertTrue("\($0)".contains("step_size")) }
        XCTAssertThrowsError(try schedule(#"{"type": "step", "step_size": 0}"#))
        XCTAssertThrowsError(try schedule(#"{"type": "linear_warmup", "warmup_steps": 2, "after": {"type": "nope"}}"#))
        XCTAssertThrowsError(try schedule(#"{"type": "cosine", "total_steps": 10, "warm": 1}"#))
    }
}
