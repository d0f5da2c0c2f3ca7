import Foundation

extension Checkpoint {
    /// One tensor entry of a safetensors header, validated.
    private struct Entry {
        let name: String
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// Reads every tensor and the metadata of a safetensors file.
    ///
    /// Everything read is validated before any tensor is allocated, so a
    /// damaged file costs at most its own size: the header length against the
    /// file size and `maxHeaderBytes`, the header as a JSON object, each
    /// dtype (F32 only), shape and data_offsets (in range, matching
    /// shape * 4 bytes), and that the tensors tile the data section without
    /// overlaps or holes.
    /// - Throws: a `CheckpointError` naming the file and the problem.
    public static func load(from url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError.io(file: file, reason: "cannot read: \(error.localizedDescription)")
        }
        guard data.count >= 8 else { throw CheckpointError.fileTooShort(file: file, size: data.count) }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(data[data.startIndex + i]) }
        let available = min(data.count - 8, maxHeaderBytes)
        guard length <= UInt64(available) else {
            throw CheckpointError.headerTooLarge(file: file, length: length, available: available)
        }
        let headerEnd = 8 + Int(length)
        let (entries, metadata) = try parseHeader(data.subdata(in: data.startIndex + 8..<data.startIndex + headerEnd), file: file)
        try checkLayout(entries, dataBytes: data.count - headerEnd, file: file)
        var tensors: [String: Tensor] = [:]
        data.withUnsafeBytes { raw in
            for e in entries {
                var t = Tensor(uninitializedShape: e.shape)
                t.withUnsafeMutableBufferPointer { dst in
                    let src = UnsafeRawBufferPointer(rebasing: raw[(headerEnd + e.begin)..<(headerEnd + e.end)])
                    #if _endian(little)
                        UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)
                    #else
                        for i in 0..<dst.count {
                            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                        }
                    #endif
                }
                tensors[e.name] = t
            }
        }
        return (tensors, metadata)
    }

    /// Parses and checks the JSON header.
    private static func parseHeader(_ bytes: Data, file: String) throws -> ([Entry], [String: String]) {
        func bad(_ reason: String) -> CheckpointError { .malformedHeader(file: file, reason: reason) }
        let root: ConfigValue
        do { root = try JSONDecoder().decode(ConfigValue.self, from: bytes) } catch {
            throw bad("header is not valid JSON (\(Config.explain(error)))")
        }
        guard case .object(let fields) = root else { throw bad("header is \(root.kindName), expected an object") }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard case .object(let m) = value else { throw bad("__metadata__ is \(value.kindName), expected an object") }
                for (k, v) in m {
                    guard case .string(let s) = v else { throw bad("__metadata__ field '\(k)' is \(v.kindName), expected a string") }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let info) = value else { throw bad("tensor '\(name)' is \(value.kindName), expected an object") }
            guard case .string(let dtype)? = info["dtype"] else { throw bad("tensor '\(name)' has no string dtype") }
            guard dtype == "F32" else { throw CheckpointError.unsupportedDType(file: file, tensor: name, dtype: dtype) }
            guard case .array(let dims)? = info["shape"] else { throw bad("tensor '\(name)' has no shape array") }
            let shape = try dims.map { d -> Int in
                guard let v = exactInt(d), v >= 0 else {
                    throw bad("tensor '\(name)' has a shape entry \(d) that is not a non-negative integer")
                }
                return v
            }
            guard case .array(let offs)? = info["data_offsets"], offs.count == 2,
                let begin = exactInt(offs[0]), let end = exactInt(offs[1])
            else {
                throw bad("tensor '\(name)' needs data_offsets [begin, end] of integers")
            }
            entries.append(Entry(name: name, shape: shape, begin: begin, end: end))
        }
        return (entries, metadata)
    }

    /// An integer JSON number (exact in a double), or nil.
    private static func exactInt(_ v: ConfigValue) -> Int? {
        guard case .number(let d) = v, d == d.rounded(), Swift.abs(d) <= 9.007_199_254_740_992e15 else { return nil }
        return Int(d)
    }

    /// Checks offsets against shapes and the data section, and contiguity.
    private static func checkLayout(_ entries: [Entry], dataBytes: Int, file: String) throws {
        for e in entries {
            func bad(_ r: String) -> CheckpointError { .badOffsets(file: file, tensor: e.name, reason: r) }
            guard e.begin >= 0, e.begin <= e.end else { throw bad("data_offsets [\(e.begin), \(e.end)] are not an ordered range") }
            guard e.end <= dataBytes else {
                throw bad("data_offsets [\(e.begin), \(e.end)] run past the \(dataBytes)-byte data section")
            }
            var elements = 1
            for d in e.shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataBytes else { throw bad("shape \(e.shape) is larger than the file") }
                elements = p
            }
            guard elements * 4 == e.end - e.begin else {
                throw bad("shape \(e.shape) needs \(elements * 4) bytes but data_offsets span \(e.end - e.begin)")
            }
        }
        var cursor = 0
        for e in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if e.begin < cursor {
                throw CheckpointError.notContiguous(
                    file: file, reason: "tensor '\(e.name)' at byte \(e.begin) overlaps the previous tensor (ends at \(cursor))")
            }
            if e.begin > cursor {
                throw CheckpointError.notContiguous(
                    file: file, reason: "bytes \(cursor)..<\(e.begin) before tensor '\(e.name)' belong to no tensor")
            }
            cursor = e.end
        }
        guard cursor == dataBytes else {
            throw CheckpointError.notContiguous(file: file, reason: "\(dataBytes - cursor) trailing bytes after the last tensor")
        }
    }
}
