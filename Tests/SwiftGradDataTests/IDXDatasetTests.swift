import XCTest

@testable import SwiftGradData

final class IDXDatasetTests: XCTestCase {
    func testReadsTinyDatasetGzippedAndRaw() throws {
        for gzip in [true, false] {
            let dir = try TempDirectory()
            try writeTinyIDXDataset(in: dir, gzip: gzip)
            let data = try MNIST(directory: dir.path)
            XCTAssertEqual(data.train.count, 5)
            XCTAssertEqual(data.test.count, 3)
            XCTAssertEqual([data.train.rows, data.train.cols], [4, 3])
            XCTAssertEqual(data.train.numClasses, 10)
            XCTAssertEqual(data.train.labels, [0, 1, 2, 3, 4])
            XCTAssertEqual(Array(data.train.image(at: 1)), (7..<19).map { UInt8($0) })
        }
    }

    func testInfersClassesWhenNotGiven() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir, labelOf: { UInt8($0 * 3) })  // train 0...12, test 0...6
        let data = try IDXDataset(directory: dir.path, numClasses: nil)
        XCTAssertEqual(data.train.numClasses, 13)
        XCTAssertEqual(data.test.numClasses, 13)
    }

    func testLabelOutOfRange() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir, labelOf: { $0 == 2 ? 10 : 1 })
        assertThrows(
            .labelOutOfRange(path: dir.file("train-labels-idx1-ubyte.gz"), index: 2, label: 10, numClasses: 10),
            try MNIST(directory: dir.path))
    }

    func testCountMismatch() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir)
        let labels = IDXFile(dimensions: [4], bytes: [1, 2, 3, 4]).encoded()
        try dir.write(labels, to: "train-labels-idx1-ubyte.gz")  // raw bytes under a .gz name still read
        assertThrows(
            .countMismatch(
                imagesPath: dir.file("train-images-idx3-ubyte.gz"), images: 5,
                labelsPath: dir.file("train-labels-idx1-ubyte.gz"), labels: 4),
            try MNIST(directory: dir.path))
    }

    func testWrongRank() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir)
        try dir.write(IDXFile(dimensions: [5, 12], bytes: [UInt8](repeating: 0, count: 60)).encoded(), to: "train-images-idx3-ubyte.gz")
        assertThrows(.wrongRank(path: dir.file("train-images-idx3-ubyte.gz"), expected: 3, actual: 2), try MNIST(directory: dir.path))
    }

    func testMissingFileListsCandidates() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir)
        try FileManager.default.removeItem(atPath: dir.file("t10k-labels-idx1-ubyte.gz"))
        XCTAssertThrowsError(try MNIST(directory: dir.path)) { error in
            guard case DataError.missingFile(let d, let names) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(d, dir.path)
            XCTAssertTrue(names.contains("t10k-labels-idx1-ubyte.gz"))
            XCTAssertTrue("\(error)".contains("t10k-labels-idx1-ubyte"))
        }
    }

    func testEMNISTPrefixAndTransposition() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir, rows: 2, cols: 3, prefix: "emnist-letters-", labelOf: { UInt8($0 + 1) })
        let data = try IDXDataset.emnist(directory: dir.path, split: "letters")
        XCTAssertEqual([data.train.rows, data.train.cols], [3, 2])
        XCTAssertEqual(data.train.numClasses, 6)  // labels 1...5 inferred as 6 classes
        // Image 0 on disk is [[0, 1, 2], [3, 4, 5]]; transposed it reads [[0, 3], [1, 4], [2, 5]].
        XCTAssertEqual(Array(data.train.image(at: 0)), [0, 3, 1, 4, 2, 5])
    }

    func testDottedFileNames() throws {
        let dir = try TempDirectory()
        try writeTinyIDXDataset(in: dir, gzip: false)
        for name in ["train-images", "train-labels", "t10k-images", "t10k-labels"] {
            let rank = name.hasSuffix("images") ? 3 : 1
            try FileManager.default.moveItem(atPath: dir.file("\(name)-idx\(rank)-ubyte"), toPath: dir.file("\(name).idx\(rank)-ubyte"))
        }
        XCTAssertEqual(try MNIST(directory: dir.path).train.count, 5)
    }

    func testBundledMNIST() throws {
        let mnist = try MNIST(directory: bundledMNISTDirectory)
        XCTAssertEqual(mnist.train.count, 60000)
        XCTAssertEqual(mnist.test.count, 10000)
        XCTAssertEqual([mnist.train.rows, mnist.train.cols], [28, 28])
        XCTAssertEqual(mnist.train.labels.prefix(10), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
        XCTAssertEqual(mnist.train.classHistogram().reduce(0, +), 60000)
        // Digests published with MNIST (see DESIGN.md "Data").
        let labels = try IDXReader.readFile(bundledMNISTDirectory + "/train-labels-idx1-ubyte.gz")
        XCTAssertEqual(md5Hex(labels), "a25bea736e30d166cdddb491f175f624")
        let testLabels = try IDXReader.readFile(bundledMNISTDirectory + "/t10k-labels-idx1-ubyte.gz")
        XCTAssertEqual(md5Hex(testLabels), "27ae3e4e09519cfbb04c329615203637")
    }

    func testMD5KnownVectors() {
        XCTAssertEqual(md5Hex([]), "d41d8cd98f00b204e9800998ecf8427e")  // RFC 1321 test suite
        XCTAssertEqual(md5Hex(Array("abc".utf8)), "900150983cd24fb0d6963f7d28e17f72")
    }

    func testSubsetPrefixAndHistogram() throws {
        let set = ImageClassificationSet(rows: 1, cols: 2, images: [1, 2, 3, 4, 5, 6], labels: [2, 0, 2], numClasses: 3)
        XCTAssertEqual(set.classHistogram(), [1, 0, 2])
        let sub = set.subset([2, 0])
        XCTAssertEqual(sub.images, [5, 6, 1, 2])
        XCTAssertEqual(sub.labels, [2, 2])
        XCTAssertEqual(set.prefix(10).count, 3)
        XCTAssertEqual(set.prefix(1).images, [1, 2])
    }
}
