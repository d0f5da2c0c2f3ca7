import XCTest

@testable import SwiftGrad

/// Mismatched shapes are reported by the shape rules the ops call; the
/// messages name the op and both shapes.
final class ShapeRuleTests: XCTestCase {
    func assertThrows(_ contains: String, _ body: () throws -> Any, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertTrue("\(error)".contains(contains), "message '\(error)' lacks '\(contains)'", line: line)
        }
    }

    func testBroadcastMismatch() throws {
        assertThrows("add: shapes [2, 3] and [4] cannot be broadcast") { try ShapeRules.broadcast([2, 3], [4], op: "add") }
        XCTAssertEqual(try ShapeRules.broadcast([2, 1, 4], [3, 1]), [2, 3, 4])
    }

    func testMatmulMismatch() throws {
        assertThrows("matmul: inner dimensions differ (3 vs 4)") { try ShapeRules.matmul([2, 3], [4, 5]) }
        assertThrows("batch sizes differ") { try ShapeRules.matmul([2, 3, 4], [3, 4, 5]) }
        XCTAssertEqual(try ShapeRules.matmul([3, 2], [5, 3], transposeA: true, transposeB: true), [2, 5])
    }

    func testReshapeAndConcatMismatch() throws {
        assertThrows("cannot reshape [2, 3] (6 elements) to [4]") { try ShapeRules.reshape([2, 3], to: [4]) }
        assertThrows("invalid target shape") { try ShapeRules.reshape([2, 3], to: [-1, -1]) }
        assertThrows("concatenate: shapes [2, 3] and [3, 3] differ off axis 1") { try ShapeRules.concatenate([[2, 3], [3, 3]], axis: 1) }
        XCTAssertEqual(try ShapeRules.concatenate([[2, 3], [2, 5]], axis: -1), [2, 8])
    }
}
