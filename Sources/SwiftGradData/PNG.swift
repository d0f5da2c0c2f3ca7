import Foundation

/// An 8-bit gray or RGB image that encodes itself as PNG.
///
/// The encoder writes IHDR, one zlib-compressed IDAT (every scanline with
/// filter type 0) and IEND, each with zlib's CRC-32; no ancillary chunks.
public struct PNGImage: Sendable, Equatable {
    /// Pixel layout.
    public enum ColorType: UInt8, Sendable {
        /// One byte per pixel (PNG colour type 0).
        case gray = 0
        /// Three bytes per pixel, red green blue (PNG colour type 2).
        case rgb = 2

        /// Bytes per pixel: 1 or 3.
        public var channels: Int { self == .gray ? 1 : 3 }
    }

    /// Width W in pixels.
    public let width: Int
    /// Height H in pixels.
    public let height: Int
    /// Gray or RGB.
    public let colorType: ColorType
    /// Pixels row-major `[H, W, channels]`.
    public var pixels: [UInt8]

    /// Creates an image; `pixels.count` must be `height * width * channels`.
    public init(width: Int, height: Int, colorType: ColorType, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "PNGImage: size \(width)x\(height) must be positive")
        precondition(
            pixels.count == width * height * colorType.channels,
            "PNGImage: \(pixels.count) bytes for \(width)x\(height)x\(colorType.channels)")
        self.width = width
        self.height = height
        self.colorType = colorType
        self.pixels = pixels
    }

    /// A gray image from intensities `[H, W]`; values are clamped to `[0, 1]`.
    public init(width: Int, height: Int, gray values: [Float]) {
        self.init(width: width, height: height, colorType: .gray, pixels: values.map(PNGImage.byte))
    }

    /// The PNG signature every file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The raw scanlines as IDAT compresses them: per row a filter byte (0)
    /// then `W * channels` bytes, `H * (1 + W * channels)` bytes in all.
    public func scanlines() -> [UInt8] {
        let rowBytes = width * colorType.channels
        var out: [UInt8] = []
        out.reserveCapacity(height * (rowBytes + 1))
        for r in 0..<height {
            out.append(0)
            out.append(contentsOf: pixels[(r * rowBytes)..<((r + 1) * rowBytes)])
        }
        return out
    }

    /// The complete PNG file.
    public func encoded() throws -> [UInt8] {
        var header: [UInt8] = []
        header += bigEndian(UInt32(width))
        header += bigEndian(UInt32(height))
        header += [8, colorType.rawValue, 0, 0, 0]  // bit depth, colour type, deflate, filter set 0, no interlace
        var file = PNGImage.signature
        file += chunk("IHDR", header)
        file += chunk("IDAT", try Zlib.compress(scanlines()))
        file += chunk("IEND", [])
        return file
    }

    /// Writes the PNG to `path` atomically (temp file + rename).
    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// A clamped Float in `[0, 1]` as a rounded byte.
    static func byte(_ value: Float) -> UInt8 {
        guard value.isFinite else { return 0 }
        return UInt8((min(1, max(0, value)) * 255).rounded())
    }

    private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let crc = Zlib.crc32(data, initial: Zlib.crc32(typeBytes))
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc)
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}

/// Atomic file replacement: readers see the old file or the new one, never
/// a partial write.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
    /// - Throws: `DataError.writeFailed` naming `path`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        // Same directory, so rename(2) stays on one file system and is atomic.
        let temp = ((directory.isEmpty ? "." : directory) as NSString)
            .appendingPathComponent(".\(name).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temp))
        } catch {
            throw DataError.writeFailed(path: path, reason: "\(error)")
        }
        if rename(temp, path) != 0 {
            let reason = String(validatingCString: strerror(errno)) ?? "errno \(errno)"
            try? FileManager.default.removeItem(atPath: temp)
            throw DataError.writeFailed(path: path, reason: reason)
        }
    }
}
