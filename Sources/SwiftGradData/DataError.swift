/// Errors raised while reading or writing data files.
///
/// Everything read from disk is untrusted: malformed input throws one of
/// these cases (never a crash), and each message names the file involved.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file does not exist or could not be opened.
    case fileNotFound(path: String)
    /// A directory lacks a required file; `candidates` lists the names tried.
    case missingFile(directory: String, candidates: [String])
    /// Reading failed for an operating-system reason.
    case readFailed(path: String, reason: String)
    /// Writing failed for an operating-system reason.
    case writeFailed(path: String, reason: String)
    /// The first four bytes are not an IDX magic number (`00 00 type rank`).
    case badMagic(path: String, bytes: [UInt8])
    /// The IDX element type is not unsigned byte (0x08).
    case unsupportedType(path: String, code: UInt8)
    /// The file holds fewer bytes than its header promises.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file holds more bytes than its header promises.
    case trailingData(path: String, expectedBytes: Int, actualBytes: Int)
    /// The IDX header's dimensions are zero-rank, too large or overflow.
    case badDimensions(path: String, dimensions: [Int], reason: String)
    /// The IDX tensor has the wrong rank for its role (images 3, labels 1).
    case wrongRank(path: String, expected: Int, actual: Int)
    /// The gzip stream is damaged (bad header, bad data, bad checksum).
    case corruptGzip(path: String, reason: String)
    /// The gzip stream ends before its final block and trailer.
    case truncatedGzip(path: String)
    /// Inflating would exceed the allowed size (decompression-bomb guard).
    case decompressedTooLarge(path: String, limitBytes: Int)
    /// Image and label files disagree on the number of examples.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// A label lies outside `[0, numClasses)`.
    case labelOutOfRange(path: String, index: Int, label: Int, numClasses: Int)
    /// An argument given by the caller is invalid (e.g. an empty palette).
    case invalidArgument(String)
    /// zlib reported an internal failure (e.g. out of memory).
    case zlib(operation: String, code: Int32)

    /// A one-line human-readable message naming the file and what was wrong.
    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found"
        case .missingFile(let directory, let candidates):
            return "\(directory): none of \(candidates.joined(separator: ", ")) found"
        case .readFailed(let path, let reason):
            return "\(path): read failed: \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): write failed: \(reason)"
        case .badMagic(let path, let bytes):
            let hex = bytes.map { hexByte($0) }.joined(separator: " ")
            return "\(path): not an IDX file (magic bytes \(hex), expected 00 00 <type> <rank>)"
        case .unsupportedType(let path, let code):
            return "\(path): unsupported IDX element type 0x\(hexByte(code)) "
                + "(\(idxTypeName(code))); only 0x08 (unsigned byte) is supported"
        case .truncated(let path, let expected, let actual):
            return "\(path): truncated: header promises \(expected) bytes, file has \(actual)"
        case .trailingData(let path, let expected, let actual):
            return "\(path): \(actual - expected) unexpected trailing bytes "
                + "(header promises \(expected) bytes, file has \(actual))"
        case .badDimensions(let path, let dimensions, let reason):
            return "\(path): bad IDX dimensions \(dimensions): \(reason)"
        case .wrongRank(let path, let expected, let actual):
            return "\(path): expected an IDX tensor of rank \(expected), found rank \(actual)"
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip stream: \(reason)"
        case .truncatedGzip(let path):
            return "\(path): truncated gzip stream (ends before the final block and trailer)"
        case .decompressedTooLarge(let path, let limit):
            return "\(path): decompressed size exceeds the limit of \(limit) bytes"
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
        case .labelOutOfRange(let path, let index, let label, let numClasses):
            return "\(path): label \(label) at index \(index) is outside [0, \(numClasses))"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        case .zlib(let operation, let code):
            return "zlib \(operation) failed with code \(code)"
        }
    }
}

private func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

/// Names of the IDX element types, for error messages.
private func idxTypeName(_ code: UInt8) -> String {
    switch code {
    case 0x08: return "unsigned byte"
    case 0x09: return "signed byte"
    case 0x0B: return "short"
    case 0x0C: return "int"
    case 0x0D: return "float"
    case 0x0E: return "double"
    default: return "unknown type"
    }
}
