import Foundation

/// A caching allocator for tensor buffers.
///
/// Training allocates buffers of the same few sizes every step. Returning
/// them to the operating system and faulting fresh pages back in dominates
/// the cost of a step on small machines, so freed buffers are kept in
/// per-size free lists and handed out again. The cache is bounded: past
/// `capacityBytes` a freed buffer goes back to the system.
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool used by every tensor.
    public static let shared = BufferPool()

    /// Upper bound on the bytes kept in free lists.
    public var capacityBytes: Int {
        get { lock.withLock { capacity } }
        set {
            lock.withLock {
                capacity = newValue
                trim()
            }
        }
    }

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var cachedBytes = 0
    private var capacity = 1 << 30
    private var liveBytes = 0
    private var peakLive = 0

    /// Bytes currently held by live tensors.
    public var liveByteCount: Int { lock.withLock { liveBytes } }
    /// The largest `liveByteCount` seen so far.
    public var peakLiveByteCount: Int { lock.withLock { peakLive } }
    /// Bytes held in free lists, ready for reuse.
    public var cachedByteCount: Int { lock.withLock { cachedBytes } }

    /// Rounds a request up so that near sizes share a free list.
    @inline(__always)
    static func roundedBytes(_ count: Int) -> Int {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        return (bytes + 255) & ~255
    }

    func allocate(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = Self.roundedBytes(count)
        let raw: UnsafeMutableRawPointer? = lock.withLock {
            liveBytes += bytes
            peakLive = max(peakLive, liveBytes)
            if var list = free[bytes], let p = list.popLast() {
                free[bytes] = list
                cachedBytes -= bytes
                return p
            }
            return nil
        }
        let pointer = raw ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        return pointer.bindMemory(to: Float.self, capacity: bytes / 4)
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = Self.roundedBytes(count)
        let keep: Bool = lock.withLock {
            liveBytes -= bytes
            guard cachedBytes + bytes <= capacity else { return false }
            free[bytes, default: []].append(UnsafeMutableRawPointer(pointer))
            cachedBytes += bytes
            return true
        }
        if !keep { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// Returns every cached buffer to the system.
    public func emptyCache() {
        lock.withLock { dropCached() }
    }

    private func trim() {
        if cachedBytes > capacity { dropCached() }
    }

    private func dropCached() {
        for list in free.values {
            for p in list { p.deallocate() }
        }
        free.removeAll()
        cachedBytes = 0
    }
}

/// The reference-counted buffer behind a tensor. Never mutated once shared:
/// `Tensor` copies it before writing when it is not uniquely referenced.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<Float>
    @usableFromInline let count: Int

    @usableFromInline
    init(count: Int) {
        self.count = count
        self.pointer = BufferPool.shared.allocate(count: count)
    }

    deinit { BufferPool.shared.release(pointer, count: count) }

    func copy() -> TensorStorage {
        let s = TensorStorage(count: count)
        s.pointer.update(from: pointer, count: count)
        return s
    }
}
