/// Problems with a checkpoint file. Each case names the file and says what
/// is wrong; reading a damaged file throws one of these and never crashes.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read or written.
    case io(file: String, reason: String)
    /// The file is shorter than the 8-byte header length.
    case fileTooShort(file: String, size: Int)
    /// The header length is larger than the file or the 100 MB limit.
    case headerTooLarge(file: String, length: UInt64, available: Int)
    /// The header is not a JSON object of the expected form.
    case malformedHeader(file: String, reason: String)
    /// A tensor has a dtype other than F32.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor's data_offsets are out of range or disagree with its shape.
    case badOffsets(file: String, tensor: String, reason: String)
    /// Tensors overlap or leave holes in the data section.
    case notContiguous(file: String, reason: String)
    /// Names or shapes in the file do not match what is being loaded.
    case mismatch(file: String, missing: [String], unexpected: [String], wrongShapes: [String])
    /// Checkpoint metadata is missing a field or has an unreadable one.
    case badMetadata(file: String, reason: String)

    /// A message naming the file and the problem.
    public var description: String {
        switch self {
        case .io(let f, let r): return "\(f): \(r)"
        case .fileTooShort(let f, let n): return "\(f): file is \(n) bytes, too short for a safetensors header (8+ bytes)"
        case .headerTooLarge(let f, let len, let avail):
            return "\(f): header length \(len) exceeds the \(avail) bytes available (file size or 100 MB limit)"
        case .malformedHeader(let f, let r): return "\(f): malformed safetensors header: \(r)"
        case .unsupportedDType(let f, let t, let d): return "\(f): tensor '\(t)' has dtype \(d); only F32 is supported"
        case .badOffsets(let f, let t, let r): return "\(f): tensor '\(t)': \(r)"
        case .notContiguous(let f, let r): return "\(f): tensor data is not contiguous: \(r)"
        case .mismatch(let f, let missing, let unexpected, let shapes):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing: \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected: \(unexpected.joined(separator: ", "))") }
            if !shapes.isEmpty { parts.append("wrong shapes: \(shapes.joined(separator: "; "))") }
            return "\(f): checkpoint does not match the model (\(parts.joined(separator: "; ")))"
        case .badMetadata(let f, let r): return "\(f): bad checkpoint metadata: \(r)"
        }
    }
}
