import Foundation
import SwiftGrad
import SwiftGradNN

/// The model, optimizer and batch of the U-Net training-step case, kept in
/// a class so the timed closure can update them in place.
private final class UNetStepState {
    var model: Model
    var updater: ParameterUpdater
    let images: Tensor
    let labels: Tensor

    init(model: Model, updater: ParameterUpdater, images: Tensor, labels: Tensor) {
        (self.model, self.updater, self.images, self.labels) = (model, updater, images, labels)
    }

    /// Forward, per-pixel cross-entropy, backward and an Adam update.
    func step() {
        let (images, labels) = (self.images, self.labels)
        let (_, grads) = valueWithGradient(at: model) { m in
            pixelwiseSoftmaxCrossEntropy(logits: m(images), labels: labels)
        }
        updater.update(&model, along: grads)
    }
}

/// FLOPs of one training step of `unet` on [n, C, h, w]: every convolution
/// and transposed convolution counted three times (forward, gradient wrt
/// input, gradient wrt weight) at 2 * multiply-adds; element-wise work,
/// pooling, the loss and the update are left out.
func unetStepFlops(_ unet: UNet, n: Int, inChannels: Int, h: Int, w: Int) -> Double {
    func conv(_ c: Int, _ k: Int, _ taps: Int, _ pixels: Int) -> Double { 2.0 * Double(n * c * k * taps * pixels) }
    var total = 0.0
    var (c, hh, ww) = (inChannels, h, w)
    var skips: [(Int, Int, Int)] = []
    for filters in unet.channels {
        total += conv(c, filters, 9, hh * ww) + conv(filters, filters, 9, hh * ww)
        skips.append((filters, hh, ww))
        (c, hh, ww) = (filters, hh / 2, ww / 2)
    }
    let b = unet.bottleneckChannels
    total += conv(c, b, 9, hh * ww) + conv(b, b, 9, hh * ww)
    c = b
    for (filters, sh, sw) in skips.reversed() {
        total += conv(c, filters, 4, hh * ww)  // 2x2 stride 2: each input pixel feeds 4 outputs
        (hh, ww) = (sh, sw)
        total += conv(2 * filters, filters, 9, hh * ww) + conv(filters, filters, 9, hh * ww)
        c = filters
    }
    total += conv(c, unet.classes, 1, hh * ww)
    return 3 * total
}

/// The end-to-end case: one U-Net training step (forward, per-pixel softmax
/// cross-entropy, backward, Adam update) on N=8 images 1x128x128, channels
/// [16, 32, 64, 128] with a 256-channel bottleneck and 4 classes, as in the
/// segmentation issue (PyTorch 2.15 on this machine: 267 ms NCHW, 204 ms in
/// its best layout). Throughput counts the convolution FLOPs of
/// `unetStepFlops`, so it compares with the kernel cases.
///
/// Wire it into the suite with one entry in `allCases`: `unetStepCase("l")`.
func unetStepCase(
    _ id: String, n: Int = 8, size: Int = 128, channels: [Int] = [16, 32, 64, 128], bottleneck: Int = 256,
    classes: Int = 4
) -> BenchCase {
    let unet = UNet(classes: classes, channels: channels, bottleneck: bottleneck)
    let flops = unetStepFlops(unet, n: n, inChannels: 1, h: size, w: size)
    let shape = "N\(n) 1x\(size)x\(size), \(channels)+\(bottleneck) -> \(classes) classes"
    return BenchCase(id: id, op: "unet_train_step", shape: shape) {
        // A model config that cannot fail; a failure here is a bug in UNet.
        let model = try! Model(inputShape: [1, size, size], seed: 0, root: unet)
        var generator = SeededGenerator(seed: 1)
        let images = Tensor.uniform([n, 1, size, size], generator: &generator)
        let labels = Tensor(
            shape: [n, size, size],
            scalars: (0..<(n * size * size)).map { _ in Float(generator.next() % UInt64(classes)) })
        let state = UNetStepState(
            model: model, updater: ParameterUpdater(Adam(learningRate: 1e-3)),
            images: images, labels: labels)
        let pass: (String, Work, () -> Void) = ("fwd+bwd+adam", .flops(flops), { state.step() })
        return ([pass], {})
    }
}
