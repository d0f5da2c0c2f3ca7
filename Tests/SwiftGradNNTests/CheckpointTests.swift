import Foundation
import XCTest

@testable import SwiftGradNN

/// A fresh empty directory per test.
func temporaryDirectory(_ name: String = #function) -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("swiftgrad-\(name.filter { $0.isLetter })-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Two raw tensors as a model, with a buffer.
struct TinyModel: ParameterContainer, BufferContainer {
    var weight: Tensor
    var bias: Tensor
    var count = Tensor(0)

    mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        visitor(joinName(prefix, "0.weight"), &weight)
        visitor(joinName(prefix, "0.bias"), &bias)
    }
    var buffers: [(name: String, value: Tensor)] { [("stats.count", count)] }
    mutating func setBuffer(_ name: String, _ value: Tensor) throws { count = value }
}

final class CheckpointTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory(name) }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testRoundTripWithMetadataAndLayout() throws {
        let url = dir.appendingPathComponent("t.safetensors")
        let tensors: [(String, Tensor)] = [
            ("a.weight", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, -6.5])),
            ("scalar", Tensor(7)), ("empty", Tensor.zeros([0, 3])), ("b", Tensor([1e-30, 3e38]))
        ]
        try Checkpoint.save(tensors, metadata: ["epoch": "3", "note": "quote \" and slash /"], to: url)
        let (loaded, metadata) = try Checkpoint.load(from: url)
        XCTAssertEqual(metadata, ["epoch": "3", "note": "quote \" and slash /"])
        XCTAssertEqual(Set(loaded.keys), Set(tensors.map(\.0)))
        for (name, t) in tensors {
            XCTAssertEqual(loaded[name]!.shape, t.shape, name)
            XCTAssertEqual(loaded[name]!.scalars, t.scalars, name)
        }
        let bytes = try Data(contentsOf: url)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0, "data section 8-byte aligned")
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))
        XCTAssertEqual(bytes.count, 8 + n + (6 + 1 + 0 + 2) * 4)
    }

    func testAtomicWriteLeavesNoTemporaryFile() throws {
        let url = dir.appendingPathComponent("w.safetensors")
        try Checkpoint.save([("x", Tensor([1]))], to: url)
        try Checkpoint.save([("x", Tensor([2, 3]))], to: url)  // replaces
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
        XCTAssertEqual(try Checkpoint.load(from: url).tensors["x"]!.scalars, [2, 3])
        let missing = dir.appendingPathComponent("no/such/dir/w.safetensors")
        XCTAssertThrowsError(try Checkpoint.save([("x", Tensor([1]))], to: missing)) { error in
            guard case CheckpointError.io = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Checkpoint.save([("x", Tensor([1])), ("x", Tensor([2]))], to: url))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }

    /// Writes a file with a given header text and data bytes (header length honest unless overridden).
    func craft(_ header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> URL {
        let url = dir.appendingPathComponent("crafted-\(UUID().uuidString).safetensors")
        var bytes = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        try bytes.write(to: url)
        return url
    }

    func expectError(_ url: URL, file: StaticString = #filePath, line: UInt = #line, _ check: (CheckpointError) -> Bool) {
        XCTAssertThrowsError(try Checkpoint.load(from: url), file: file, line: line) { error in
            guard let e = error as? CheckpointError else { return XCTFail("not a CheckpointError: \(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(url.path), "error should name the file: \(e)", file: file, line: line)
        }
    }

    func testTruncatedFiles() throws {
        let short = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3, 4, 5]).write(to: short)
        expectError(short) {
            if case .fileTooShort(_, 5) = $0 { return true }
            return false
        }
        // A valid file cut inside its data section.
        let url = dir.appendingPathComponent("cut.safetensors")
        try Checkpoint.save([("x", Tensor([1, 2, 3]))], to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.dropLast(4).write(to: url)
        expectError(url) {
            if case .badOffsets(_, "x", _) = $0 { return true }
            return false
        }
        // Cut inside the header.
        try bytes.prefix(20).write(to: url)
        expectError(url) {
            if case .headerTooLarge = $0 { return true }
            return false
        }
    }

    func testLyingHeaderLengthIsRejectedWithoutAllocating() throws {
        let huge = try craft("{}", length: 1 << 40)
        expectError(huge) {
            if case .headerTooLarge(_, 1 << 40, _) = $0 { return true }
            return false
        }
        let overLimit = try craft("{}", length: 200_000_000)
        expectError(overLimit) {
            if case .headerTooLarge = $0 { return true }
            return false
        }
    }

    func testMalformedHeaders() throws {
        expectError(try craft("{not json")) {
            if case .malformedHeader = $0 { return true }
            return false
        }
        expectError(try craft("[1, 2]")) {
            if case .malformedHeader = $0 { return true }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) {
            if case .malformedHeader = $0 { return true }
            return false
        }
        expectError(try craft(#"{"__metadata__": {"a": 1}}"#)) {
            if case .malformedHeader = $0 { return true }
            return false
        }
    }

    func testWrongDType() throws {
        let url = try craft(#"{"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        expectError(url) {
            if case .unsupportedDType(_, "h", "F16") = $0 { return true }
            return false
        }
    }

    func testOffsetsOutOfRangeMismatchedOverlappingOrWithHoles() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, data: eight)) {
            if case .badOffsets(_, "x", _) = $0 { return true }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: eight)) {
            if case .badOffsets(_, "x", let r) = $0 { return r.contains("12 bytes") }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, data: eight)) {
            if case .badOffsets = $0 { return true }
            return false
        }
        expectError(
            try craft(
                #"{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
                data: eight)
        ) {
            if case .notContiguous(_, let r) = $0 { return r.contains("overlaps") }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: eight)) {
            if case .notContiguous = $0 { return true }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: eight)) {
            if case .notContiguous(_, let r) = $0 { return r.contains("trailing") }
            return false
        }
        expectError(try craft(#"{"x": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#, data: eight)) {
            if case .badOffsets = $0 { return true }
            return false
        }
    }

    func testStateDictSaveLoadAndMismatches() throws {
        let url = dir.appendingPathComponent("m.safetensors")
        let model = TinyModel(weight: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), bias: Tensor([5, 6]), count: Tensor(9))
        XCTAssertEqual(Checkpoint.stateDict(of: model).map(\.0), ["0.weight", "0.bias", "stats.count"])
        try model.saveWeights(to: url, metadata: ["k": "v"])
        var fresh = TinyModel(weight: Tensor.zeros([2, 2]), bias: Tensor.zeros([2]))
        XCTAssertEqual(try fresh.loadWeights(from: url), ["k": "v"])
        XCTAssertEqual(fresh.weight.scalars, [1, 2, 3, 4])
        XCTAssertEqual(fresh.count.scalar, 9)
        // Wrong shapes, missing and unexpected names are all reported; the model is unchanged.
        try Checkpoint.save([("0.weight", Tensor([1, 2, 3])), ("extra", Tensor([1]))], to: url)
        var other = TinyModel(weight: Tensor.zeros([2, 2]), bias: Tensor.zeros([2]))
        XCTAssertThrowsError(try other.loadWeights(from: url)) { error in
            guard case CheckpointError.mismatch(_, let missing, let unexpected, let shapes) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(missing, ["0.bias", "stats.count"])
            XCTAssertEqual(unexpected, ["extra"])
            XCTAssertEqual(shapes.count, 1)
            XCTAssertTrue("\(error)".contains("0.weight"))
        }
        XCTAssertEqual(other.weight.scalars, [0, 0, 0, 0])
    }

    func testModelWithBatchNormBuffersRoundTrips() throws {
        let url = dir.appendingPathComponent("bn.safetensors")
        var model = try Model(inputShape: [2, 3, 3], seed: 1) {
            BatchNorm2D()
            Flatten()
            Dense(units: 2)
        }
        var g = SeededGenerator(seed: 3)
        let x = Tensor.normal([4, 2, 3, 3], generator: &g)
        _ = LearningPhase.with(training: true) { model(x) }  // moves the running statistics
        try model.saveWeights(to: url)
        let names = Set(try Checkpoint.load(from: url).tensors.keys)
        XCTAssertTrue(names.contains("0.running_mean") && names.contains("2.weight"), "\(names.sorted())")
        var fresh = try Model(inputShape: [2, 3, 3], seed: 2) {
            BatchNorm2D()
            Flatten()
            Dense(units: 2)
        }
        try fresh.loadWeights(from: url)
        XCTAssertEqual(fresh(x).scalars, model(x).scalars)
        model = fresh
    }
    /// The tensors Tests/Scripts/check_safetensors.py expects.
    static var interopTensors: [(String, Tensor)] {
        [
            ("0.weight", Tensor(shape: [2, 3], scalars: (0..<6).map { Float($0) / 4 - 0.5 })),
            ("0.bias", Tensor([1.5, -2.25])), ("bn.num_batches_tracked", Tensor(7)), ("empty", Tensor.zeros([0, 3]))
        ]
    }

    /// Only with SWIFTGRAD_INTEROP_DIR set (see Tests/Scripts/check_safetensors.py):
    /// reads the Python-written file there and writes one for Python to read.
    func testInteropWithPythonFiles() throws {
        guard let path = ProcessInfo.processInfo.environment["SWIFTGRAD_INTEROP_DIR"] else { return }
        let interop = URL(fileURLWithPath: path)
        let (tensors, metadata) = try Checkpoint.load(from: interop.appendingPathComponent("python.safetensors"))
        XCTAssertEqual(metadata, ["writer": "python", "epoch": "3"])
        XCTAssertEqual(tensors.count, Self.interopTensors.count)
        for (name, t) in Self.interopTensors {
            XCTAssertEqual(tensors[name]?.shape, t.shape, name)
            XCTAssertEqual(tensors[name]?.scalars, t.scalars, name)
        }
        try Checkpoint.save(
            Self.interopTensors, metadata: ["writer": "swift", "epoch": "3"],
            to: interop.appendingPathComponent("swift.safetensors"))
    }
}
