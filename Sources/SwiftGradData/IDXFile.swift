import Foundation

/// An IDX tensor of unsigned bytes, as used by MNIST and its relatives.
///
/// Layout on disk: magic `00 00 08 rank`, then `rank` big-endian UInt32
/// dimensions, then `product(dimensions)` bytes in row-major order.
public struct IDXFile: Sendable, Equatable {
    /// The dimensions from the header, e.g. `[60000, 28, 28]` for images
    /// or `[60000]` for labels.
    public var dimensions: [Int]
    /// The elements in row-major order; `bytes.count == product(dimensions)`.
    public var bytes: [UInt8]

    /// Creates an IDX tensor in memory; `bytes.count` must equal the product
    /// of `dimensions` (a programmer error otherwise).
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition(
            dimensions.reduce(1, *) == bytes.count,
            "IDXFile: dimensions \(dimensions) need \(dimensions.reduce(1, *)) bytes, got \(bytes.count)")
        self.dimensions = dimensions
        self.bytes = bytes
    }

    /// Reads an IDX file from `path`, raw or gzipped (detected by the magic
    /// `1f 8b`, not by the file name).
    /// - Throws: `DataError` naming `path` for every malformed input.
    public init(contentsOf path: String, maxBytes: Int = Zlib.defaultMaxOutputBytes) throws {
        self = try IDXReader.parse(try IDXReader.readFile(path, maxBytes: maxBytes), source: path)
    }

    /// The IDX serialization of this tensor (uncompressed).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions {
            let v = UInt32(d)
            out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        return out + bytes
    }
}

/// Reading and parsing of IDX files; all failures are `DataError`s.
public enum IDXReader {
    /// Reads the file at `path` and inflates it when it is gzipped.
    /// - Parameter maxBytes: cap on the inflated size (decompression-bomb guard).
    public static func readFile(_ path: String, maxBytes: Int = Zlib.defaultMaxOutputBytes) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError.readFailed(path: path, reason: "\(error)")
        }
        let raw = [UInt8](data)
        return Zlib.isGzip(raw) ? try Zlib.inflate(raw, source: path, maxOutputBytes: maxBytes) : raw
    }

    /// Parses uncompressed IDX bytes; `source` names the file in errors.
    ///
    /// Checks the magic, the element type (0x08 only), the header length and
    /// that the data length equals the product of the dimensions.
    public static func parse(_ data: [UInt8], source: String) throws -> IDXFile {
        guard data.count >= 4, data[0] == 0, data[1] == 0 else {
            throw DataError.badMagic(path: source, bytes: Array(data.prefix(4)))
        }
        guard data[2] == 0x08 else { throw DataError.unsupportedType(path: source, code: data[2]) }
        let rank = Int(data[3])
        guard rank >= 1 else {
            throw DataError.badDimensions(path: source, dimensions: [], reason: "rank must be at least 1")
        }
        let headerBytes = 4 + 4 * rank
        guard data.count >= headerBytes else {
            throw DataError.truncated(path: source, expectedBytes: headerBytes, actualBytes: data.count)
        }
        var dims: [Int] = []
        for i in 0..<rank {
            let o = 4 + 4 * i
            dims.append(Int(UInt32(data[o]) << 24 | UInt32(data[o + 1]) << 16 | UInt32(data[o + 2]) << 8 | UInt32(data[o + 3])))
        }
        var elements = 1
        for d in dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Int(Int32.max) else {
                throw DataError.badDimensions(path: source, dimensions: dims, reason: "element count overflows")
            }
            elements = product
        }
        let expected = headerBytes + elements
        if data.count < expected {
            throw DataError.truncated(path: source, expectedBytes: expected, actualBytes: data.count)
        }
        if data.count > expected {
            throw DataError.trailingData(path: source, expectedBytes: expected, actualBytes: data.count)
        }
        return IDXFile(dimensions: dims, bytes: Array(data[headerBytes...]))
    }
}
