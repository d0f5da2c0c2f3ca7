import Foundation

/// Marks a tensor as a node of one particular tape.
@usableFromInline
struct Tracking: Sendable {
    @usableFromInline let tapeID: UInt64
    @usableFromInline let node: Int
}

/// The record of one gradient computation: every differentiable op appends
/// its pullback here, and `backward` replays them in reverse.
///
/// A tape belongs to the thread (or task) that runs the gradient computation;
/// it is bound as a task-local value, so computations on other threads and
/// nested computations each see their own tape.
public final class Tape: @unchecked Sendable {
    /// A pullback maps the gradient of an op's output to the gradients of its
    /// inputs (nil where an input needs none), each shaped like that input.
    public typealias Pullback = (Tensor) -> [Tensor?]

    struct Entry {
        let inputs: [Int]  // node ids on this tape, -1 for untracked inputs
        let output: Int
        let pullback: Pullback
    }

    @TaskLocal static var current: Tape?

    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter: UInt64 = 0

    let id: UInt64
    private(set) var entries: [Entry] = []
    private(set) var nodeCount = 0

    init() {
        id = Tape.counterLock.withLock {
            Tape.counter += 1
            return Tape.counter
        }
    }

    /// True while the current thread or task is recording a gradient computation.
    public static var isRecording: Bool { current != nil }

    func newNode() -> Int {
        nodeCount += 1
        return nodeCount - 1
    }

    /// Returns `x` as a new leaf node of this tape.
    func track(_ x: Tensor) -> Tensor {
        var t = x
        t.tracking = Tracking(tapeID: id, node: newNode())
        return t
    }

    func node(of x: Tensor) -> Int? {
        guard let t = x.tracking, t.tapeID == id else { return nil }
        return t.node
    }

    func append(inputs: [Int], output: Int, pullback: @escaping Pullback) {
        entries.append(Entry(inputs: inputs, output: output, pullback: pullback))
    }

    /// Propagates `seed` (the gradient of `output`) back to every node and
    /// returns the gradient of each requested node, or nil if it does not
    /// influence `output`. The tape is consumed: entries are released as they
    /// are replayed so saved activations are freed early.
    func backward(from output: Tensor, seed: Tensor, to nodes: [Int]) -> [Tensor?] {
        var grads = [Tensor?](repeating: nil, count: nodeCount)
        guard let out = node(of: output) else { return nodes.map { _ in nil } }
        grads[out] = seed
        let wanted = Set(nodes)
        // Pullbacks compute with ordinary ops; they must not record.
        Tape.$current.withValue(nil) {
            while let entry = entries.popLast() {
                guard let g = grads[entry.output] else { continue }
                if !wanted.contains(entry.output) { grads[entry.output] = nil }
                let inputGrads = entry.pullback(g)
                precondition(
                    inputGrads.count == entry.inputs.count,
                    "Tape: pullback returned \(inputGrads.count) gradients for \(entry.inputs.count) inputs")
                for (i, ig) in zip(entry.inputs, inputGrads) where i >= 0 {
                    guard let ig else { continue }
                    if let existing = grads[i] {
                        grads[i] = existing + ig
                    } else {
                        grads[i] = ig
                    }
                }
            }
        }
        return nodes.map { grads[$0] }
    }
}

extension Tensor {
    /// Records `output` as the result of an op on `inputs` with the given
    /// pullback, if a gradient computation is running and any input is part of
    /// it. Outside a gradient computation this is a no-op, so inference pays
    /// nothing for differentiability.

    public static func record(
        _ output: Tensor, inputs: [Tensor], pullback: @escaping Tape.Pullback
    ) -> Tensor {
        guard inputs.contains(where: { $0.tracking != nil }) else { return output }
        return recordSlow(output, inputs: inputs, pullback: pullback)
    }

    @usableFromInline
    static func recordSlow(_ output: Tensor, inputs: [Tensor], pullback: @escaping Tape.Pullback) -> Tensor {
        guard let tape = Tape.current else { return output }
        let ids = inputs.map { tape.node(of: $0) ?? -1 }
        guard ids.contains(where: { $0 >= 0 }) else { return output }
        var result = output
        result.tracking = Tracking(tapeID: tape.id, node: tape.newNode())
        tape.append(inputs: ids, output: result.tracking!.node, pullback: pullback)
        return result
    }

    /// The same values, cut off from any gradient computation.
    public var detached: Tensor {
        var t = self
        t.tracking = nil
        return t
    }

    /// True if this tensor is part of the gradient computation now running.
    public var isTracked: Bool {
        guard let t = tracking, let tape = Tape.current else { return false }
        return t.tapeID == tape.id
    }
}

/// Runs `body` without recording any op, even inside a gradient computation.
public func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
    try Tape.$current.withValue(nil) { try body() }
}
