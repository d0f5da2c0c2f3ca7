import Foundation
import SwiftGrad
import XCTest

@testable import SwiftGradData

/// A PNG chunk as read back by the test's own parser.
struct DecodedChunk {
    var type: String
    var data: [UInt8]
    var crc: UInt32
}

/// Bitwise CRC-32 (polynomial 0xEDB88320), independent of zlib's table version.
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

func parseChunks(_ file: [UInt8]) throws -> [DecodedChunk] {
    XCTAssertEqual(Array(file.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    func u32(_ o: Int) -> UInt32 { UInt32(file[o]) << 24 | UInt32(file[o + 1]) << 16 | UInt32(file[o + 2]) << 8 | UInt32(file[o + 3]) }
    var chunks: [DecodedChunk] = []
    var o = 8
    while o < file.count {
        let length = Int(u32(o))
        let type = String(decoding: file[(o + 4)..<(o + 8)], as: UTF8.self)
        let data = Array(file[(o + 8)..<(o + 8 + length)])
        chunks.append(DecodedChunk(type: type, data: data, crc: u32(o + 8 + length)))
        o += 12 + length
    }
    XCTAssertEqual(o, file.count)
    return chunks
}

final class PNGTests: XCTestCase {
    func checkDecodes(_ image: PNGImage) throws {
        let chunks = try parseChunks(try image.encoded())
        XCTAssertEqual(chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        for chunk in chunks { XCTAssertEqual(chunk.crc, referenceCRC32(Array(chunk.type.utf8) + chunk.data), chunk.type) }
        let w = UInt32(image.width)
        let h = UInt32(image.height)
        XCTAssertEqual(
            chunks[0].data,
            [
                UInt8(w >> 24), UInt8(w >> 16 & 255), UInt8(w >> 8 & 255), UInt8(w & 255),
                UInt8(h >> 24), UInt8(h >> 16 & 255), UInt8(h >> 8 & 255), UInt8(h & 255),
                8, image.colorType.rawValue, 0, 0, 0
            ])
        // Expected scanlines built here: filter byte 0 then the row's bytes.
        let rowBytes = image.width * image.colorType.channels
        var expected: [UInt8] = []
        for r in 0..<image.height { expected += [0] + image.pixels[(r * rowBytes)..<((r + 1) * rowBytes)] }
        XCTAssertEqual(try Zlib.inflate(chunks[1].data), expected)
        XCTAssertEqual(Array(chunks[1].data.prefix(1)), [0x78])  // zlib header, deflate with 32K window
    }

    func testGrayAndRGBDecode() throws {
        try checkDecodes(PNGImage(width: 3, height: 2, colorType: .gray, pixels: [0, 128, 255, 1, 2, 3]))
        try checkDecodes(PNGImage(width: 300, height: 5, colorType: .rgb, pixels: (0..<4500).map { UInt8($0 % 256) }))
        XCTAssertEqual(PNGImage(width: 3, height: 1, gray: [-1, 0.5, 2]).pixels, [0, 128, 255])
    }

    func testAtomicWriteReplacesAndLeavesNoTemp() throws {
        let dir = try TempDirectory()
        let path = dir.file("out.png")
        try PNGImage(width: 1, height: 1, colorType: .gray, pixels: [9]).write(to: path)
        let second = PNGImage(width: 2, height: 1, colorType: .gray, pixels: [1, 2])
        try second.write(to: path)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), try second.encoded())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])
        XCTAssertThrowsError(try AtomicFile.write([1], to: "/nonexistent-dir/x.png")) { error in
            guard case DataError.writeFailed("/nonexistent-dir/x.png", _) = error else { return XCTFail("got \(error)") }
        }
    }

    func testSegmentationStripLayoutAndColours() throws {
        let strip = SegmentationStrip(gap: 1)
        let image = strip.render(
            height: 2, width: 2, images: [0, 1, 0.5, 0.25, 1, 1, 1, 1], truth: [0, 1, 2, 3, 1, 1, 1, 1],
            prediction: [0, 0, 2, 10, 0, 0, 0, 0])
        XCTAssertEqual(image.width, 3 * 2 + 2)
        XCTAssertEqual(image.height, 2 * 2 + 1)
        func rgb(_ x: Int, _ y: Int) -> [UInt8] { Array(image.pixels[((y * image.width + x) * 3)..<((y * image.width + x) * 3 + 3)]) }
        XCTAssertEqual(rgb(0, 0), [0, 0, 0])  // input min stretched to black
        XCTAssertEqual(rgb(1, 0), [255, 255, 255])
        XCTAssertEqual(rgb(2, 0), [255, 255, 255])  // the separator
        XCTAssertEqual(rgb(4, 0), ClassPalette.standard.color(of: 1))  // truth panel
        XCTAssertEqual(rgb(7, 1), ClassPalette.standard.color(of: 10))  // prediction panel
        XCTAssertEqual(rgb(0, 3), [255, 255, 255])  // constant input: clamped, not stretched
        try checkDecodes(image)
    }

    func testStripFromTensorsWithLogits() throws {
        let images = Tensor(shape: [1, 1, 1, 2], scalars: [0, 1])
        let truth = Tensor(shape: [1, 1, 2], scalars: [1, 2])
        // Logits [1, 3, 1, 2]: pixel 0 favours class 2, pixel 1 class 0.
        let logits = Tensor(shape: [1, 3, 1, 2], scalars: [5, 9, 1, 0, 7, 3])
        let fromLogits = SegmentationStrip(gap: 0).render(images: images, truth: truth, prediction: logits)
        let fromIndices = SegmentationStrip(gap: 0).render(
            images: images, truth: truth, prediction: Tensor(shape: [1, 1, 2], scalars: [2, 0]))
        XCTAssertEqual(fromLogits, fromIndices)
        XCTAssertEqual(argmaxOverChannels([1, 1, 0, 2], n: 1, c: 2, plane: 2), [0, 1])  // ties keep the first
    }

    func testWritesShapesStripForInspection() throws {
        let data = ShapesDataset(count: 3, seed: 0)
        let batch = data.batch(indices: [0, 1, 2])
        let dir = try TempDirectory()
        let path = dir.file("shapes.png")
        try SegmentationStrip().write(to: path, images: batch.images, truth: batch.labels, prediction: batch.labels)
        let chunks = try parseChunks([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        if let keep = ProcessInfo.processInfo.environment["SWIFTGRAD_KEEP_PNG"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: path, toPath: keep)
        }
    }
}
