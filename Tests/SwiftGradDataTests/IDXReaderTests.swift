import XCTest

@testable import SwiftGradData

final class IDXReaderTests: XCTestCase {
    let sample = IDXFile(dimensions: [2, 3, 2], bytes: (0..<12).map { UInt8($0 * 20) })

    func testEncodedHeaderIsBigEndian() {
        let bytes = IDXFile(dimensions: [258], bytes: [UInt8](repeating: 1, count: 258)).encoded()
        XCTAssertEqual(Array(bytes.prefix(8)), [0, 0, 0x08, 1, 0, 0, 1, 2])
    }

    func testReadsRawFile() throws {
        let dir = try TempDirectory()
        let path = try dir.write(sample.encoded(), to: "raw-idx3-ubyte")
        XCTAssertEqual(try IDXFile(contentsOf: path), sample)
    }

    func testReadsGzippedFileByMagicNotName() throws {
        let dir = try TempDirectory()
        let path = try dir.write(try Zlib.gzip(sample.encoded()), to: "no-gz-suffix")
        XCTAssertEqual(try IDXFile(contentsOf: path), sample)
    }

    func testReadsConcatenatedGzipMembers() throws {
        let bytes = sample.encoded()
        let joined = try Zlib.gzip(Array(bytes[..<7])) + Zlib.gzip(Array(bytes[7...]))
        XCTAssertEqual(try Zlib.inflate(joined), bytes)
    }

    func testTruncatedDataNamesFileAndSizes() throws {
        let dir = try TempDirectory()
        let full = sample.encoded()
        let path = try dir.write(Array(full.dropLast(5)), to: "short")
        assertThrows(.truncated(path: path, expectedBytes: full.count, actualBytes: full.count - 5), try IDXFile(contentsOf: path))
        let message = DataError.truncated(path: path, expectedBytes: full.count, actualBytes: full.count - 5).description
        XCTAssertTrue(message.contains(path) && message.contains("\(full.count)") && message.contains("\(full.count - 5)"))
    }

    func testTruncatedHeader() throws {
        assertThrows(
            .truncated(path: "h", expectedBytes: 16, actualBytes: 10), try IDXReader.parse([0, 0, 8, 3, 0, 0, 0, 1, 0, 0], source: "h"))
    }

    func testTrailingData() throws {
        let full = sample.encoded()
        assertThrows(
            .trailingData(path: "t", expectedBytes: full.count, actualBytes: full.count + 1), try IDXReader.parse(full + [9], source: "t"))
    }

    func testWrongMagic() throws {
        let dir = try TempDirectory()
        let path = try dir.write([0x50, 0x4B, 3, 4, 0, 0], to: "zip")
        assertThrows(.badMagic(path: path, bytes: [0x50, 0x4B, 3, 4]), try IDXFile(contentsOf: path))
        assertThrows(.badMagic(path: "tiny", bytes: [0]), try IDXReader.parse([0], source: "tiny"))
    }

    func testUnsupportedTypeIsNamed() throws {
        var bytes = sample.encoded()
        bytes[2] = 0x0D
        assertThrows(.unsupportedType(path: "f", code: 0x0D), try IDXReader.parse(bytes, source: "f"))
        XCTAssertTrue(DataError.unsupportedType(path: "f", code: 0x0D).description.contains("float"))
    }

    func testZeroRankAndOverflowingDimensions() throws {
        XCTAssertThrowsError(try IDXReader.parse([0, 0, 8, 0], source: "r0"))
        let huge: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)
        XCTAssertThrowsError(try IDXReader.parse(huge, source: "big")) { error in
            guard case DataError.badDimensions = error else { return XCTFail("got \(error)") }
        }
    }

    func testMissingFile() {
        assertThrows(.fileNotFound(path: "/nonexistent/x"), try IDXFile(contentsOf: "/nonexistent/x"))
    }

    func testCorruptGzip() throws {
        let dir = try TempDirectory()
        var gz = try Zlib.gzip(sample.encoded())
        for i in 12..<(gz.count - 8) { gz[i] ^= 0x5A }  // scramble the deflate body
        let path = try dir.write(gz, to: "corrupt.gz")
        XCTAssertThrowsError(try IDXFile(contentsOf: path)) { error in
            guard case DataError.corruptGzip(let p, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(p, path)
        }
    }

    func testBadGzipChecksumIsCorrupt() throws {
        var gz = try Zlib.gzip(sample.encoded())
        gz[gz.count - 6] ^= 1  // CRC-32 in the trailer
        XCTAssertThrowsError(try Zlib.inflate(gz, source: "crc")) { error in
            guard case DataError.corruptGzip("crc", _) = error else { return XCTFail("got \(error)") }
        }
    }

    func testTruncatedGzip() throws {
        let dir = try TempDirectory()
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 3) }
        let gz = try Zlib.gzip(IDXFile(dimensions: [5000], bytes: payload).encoded())
        for cut in [gz.count - 3, gz.count / 2, 11] {
            let path = try dir.write(Array(gz.prefix(cut)), to: "cut\(cut).gz")
            assertThrows(.truncatedGzip(path: path), try IDXFile(contentsOf: path))
        }
    }

    func testDecompressionBombGuard() throws {
        let bomb = try Zlib.gzip([UInt8](repeating: 0, count: 1 << 20))
        XCTAssertLessThan(bomb.count, 2000)
        assertThrows(.decompressedTooLarge(path: "bomb", limitBytes: 1000), try Zlib.inflate(bomb, source: "bomb", maxOutputBytes: 1000))
        XCTAssertEqual(try Zlib.inflate(bomb, maxOutputBytes: 1 << 20).count, 1 << 20)
    }

    func testTrailingGarbageAfterGzip() throws {
        let gz = try Zlib.gzip([1, 2, 3]) + [7, 7, 7]
        XCTAssertThrowsError(try Zlib.inflate(gz, source: "g")) { error in
            guard case DataError.corruptGzip("g", _) = error else { return XCTFail("got \(error)") }
        }
    }

    func testZlibRoundTripAndCRC() throws {
        let text = Array("123456789".utf8)
        XCTAssertEqual(Zlib.crc32(text), 0xCBF4_3926)  // the standard CRC-32 check value
        XCTAssertEqual(Zlib.crc32(Array(text[4...]), initial: Zlib.crc32(Array(text[..<4]))), 0xCBF4_3926)
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        XCTAssertEqual(try Zlib.inflate(try Zlib.compress(data)), data)
        XCTAssertEqual(try Zlib.inflate(try Zlib.gzip([])), [])
    }
}
