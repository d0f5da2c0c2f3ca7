import CZlib

/// Thin, throwing wrappers over zlib: inflate (gzip or zlib streams),
/// deflate (gzip or zlib container) and CRC-32.
public enum Zlib {
    /// Default cap on inflated output: 1 GiB. The largest IDX file in common
    /// use (EMNIST byclass train images) inflates to about 550 MB.
    public static let defaultMaxOutputBytes = 1 << 30

    /// True when `bytes` starts with the gzip magic number `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates a gzip or zlib stream (auto-detected, windowBits 15+32).
    ///
    /// Concatenated gzip members are inflated one after another.
    /// - Parameters:
    ///   - input: the compressed bytes.
    ///   - source: a path or label used in error messages.
    ///   - maxOutputBytes: decompression-bomb guard; larger output throws
    ///     `DataError.decompressedTooLarge`.
    /// - Throws: `DataError.truncatedGzip`, `.corruptGzip`, `.decompressedTooLarge`.
    public static func inflate(
        _ input: [UInt8], source: String = "<memory>",
        maxOutputBytes: Int = defaultMaxOutputBytes
    ) throws -> [UInt8] {
        guard input.count < Int(UInt32.max) else {
            throw DataError.corruptGzip(path: source, reason: "compressed input over 4 GiB")
        }
        var output: [UInt8] = []
        // Deflate expands at most ~1032:1, which bounds a forged ISIZE hint.
        output.reserveCapacity(min(sizeHint(input), input.count * 1032, maxOutputBytes))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var stream = z_stream()
        var status = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw DataError.zlib(operation: "inflateInit2", code: status) }
        defer { inflateEnd(&stream) }

        try input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let produced = chunk.withUnsafeMutableBufferPointer { out -> Int in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                if output.count + produced > maxOutputBytes {
                    throw DataError.decompressedTooLarge(path: source, limitBytes: maxOutputBytes)
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_OK:
                    // Input used up while the output chunk still had room: the stream stops early.
                    if stream.avail_in == 0 && stream.avail_out > 0 { throw DataError.truncatedGzip(path: source) }
                case Z_STREAM_END:
                    let rest = Int(stream.avail_in)
                    if rest == 0 { return }
                    let next = inBuffer.count - rest
                    guard rest >= 2, inBuffer[next] == 0x1F, inBuffer[next + 1] == 0x8B else {
                        throw DataError.corruptGzip(path: source, reason: "\(rest) bytes of trailing garbage")
                    }
                    status = inflateReset(&stream)  // next gzip member
                    guard status == Z_OK else { throw DataError.zlib(operation: "inflateReset", code: status) }
                case Z_BUF_ERROR:
                    // No progress possible: with all input consumed that means truncation.
                    if stream.avail_in == 0 { throw DataError.truncatedGzip(path: source) }
                    throw DataError.corruptGzip(path: source, reason: "no progress (Z_BUF_ERROR)")
                case Z_NEED_DICT:
                    throw DataError.corruptGzip(path: source, reason: "stream needs a preset dictionary")
                case Z_DATA_ERROR:
                    throw DataError.corruptGzip(path: source, reason: message(stream) ?? "invalid data")
                default:
                    throw DataError.zlib(operation: "inflate", code: status)
                }
            }
        }
        return output
    }

    /// Compresses `input` into a gzip stream (RFC 1952), as `gzip` writes.
    public static func gzip(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try deflate(input, windowBits: 15 + 16, level: level)
    }

    /// Compresses `input` into a zlib stream (RFC 1950), as PNG's IDAT needs.
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try deflate(input, windowBits: 15, level: level)
    }

    /// zlib's CRC-32 of `bytes`, continuing from `initial` (0 to start).
    public static func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(UInt(initial), buffer.baseAddress, UInt32(buffer.count)))
        }
    }

    /// One-shot deflate into a buffer sized by deflateBound.
    private static func deflate(_ input: [UInt8], windowBits: Int32, level: Int32) throws -> [UInt8] {
        guard input.count < Int(UInt32.max) else { throw DataError.invalidArgument("deflate input over 4 GiB") }
        var stream = z_stream()
        var status = deflateInit2_(
            &stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw DataError.zlib(operation: "deflateInit2", code: status) }
        defer { deflateEnd(&stream) }
        // deflateBound ignores the gzip header and trailer; 32 bytes covers them.
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        let written = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                status = CZlib.deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else { throw DataError.zlib(operation: "deflate", code: status) }
        output.removeSubrange(written...)
        return output
    }

    /// The gzip trailer's ISIZE (uncompressed size mod 2^32), as a capacity hint.
    private static func sizeHint(_ input: [UInt8]) -> Int {
        guard isGzip(input), input.count >= 18 else { return input.count * 4 }
        let n = input.count
        let size =
            (UInt32(input[n - 4]) | UInt32(input[n - 3]) << 8
                | UInt32(input[n - 2]) << 16 | UInt32(input[n - 1]) << 24)
        return Int(size)
    }

    private static func message(_ stream: z_stream) -> String? {
        stream.msg.map { String(cString: $0) }
    }
}
