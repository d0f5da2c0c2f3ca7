import Foundation

/// Reading and writing named tensors in the safetensors format: an 8-byte
/// little-endian header length, a JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
/// "__metadata__": {"key": "value"}}`, then the raw little-endian data.
public enum Checkpoint {
    /// Headers above this size are rejected as corrupt (same limit as the
    /// reference implementation).
    public static let maxHeaderBytes = 100_000_000

    /// Writes `tensors` (in the given order) with string `metadata` to `url`
    /// atomically: a temporary file in the same directory is written, flushed
    /// and renamed over `url`, so readers see the old file or the new one.
    /// - Throws: `CheckpointError.io`, or `.malformedHeader` for duplicate names.
    public static func save(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        let file = url.path
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            guard name != "__metadata__", header[name] == nil else {
                throw CheckpointError.malformedHeader(file: file, reason: "duplicate or reserved tensor name '\(name)'")
            }
            let bytes = t.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]) } catch {
            throw CheckpointError.io(file: file, reason: "cannot encode header: \(error)")
        }
        // Pad with spaces so the data section starts 8-byte aligned.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors { appendLittleEndian(t, to: &out) }
        try writeAtomically(out, to: url)
    }

    /// Appends a tensor's elements as little-endian float32.
    static func appendLittleEndian(_ t: Tensor, to out: inout Data) {
        t.withUnsafeBufferPointer { p in
            #if _endian(little)
                out.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self),
                        count: p.count * 4))
            #else
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            #endif
        }
    }

    /// Writes `data` to a temporary file next to `url`, syncs it and renames
    /// it over `url`. The temporary file is removed on failure.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
                throw CheckpointError.io(file: url.path, reason: "cannot create temporary file in \(dir.path)")
            }
            let handle = try FileHandle(forWritingTo: temp)
            do {
                try handle.write(contentsOf: data)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temp.path, url.path) == 0 else {
                throw CheckpointError.io(file: url.path, reason: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            if let e = error as? CheckpointError { throw e }
            throw CheckpointError.io(file: url.path, reason: "write failed: \(error.localizedDescription)")
        }
    }
}
