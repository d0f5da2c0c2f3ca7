import Foundation
import SwiftGrad
import SwiftGradData
import SwiftGradNN

/// What one evaluation of the held-out set found.
struct HeldOutReport {
    /// Pixel counts of (true class, predicted class) over the whole set.
    let matrix: ConfusionMatrix
    /// Mean per-pixel loss (class weights included).
    let loss: Double
    /// Wall time of the evaluation.
    let seconds: Double
    /// input | ground truth | prediction for the first few samples, if any.
    let strip: PNGImage?

    /// "held-out: loss 0.0213 - mean IoU 0.9412 - pixel accuracy 0.9876" and
    /// a second line with the IoU of every class.
    func summary(classNames: [String]) -> String {
        let head = String(
            format: "  held-out: loss %.4f - mean IoU %.4f - pixel accuracy %.4f (%.1fs)",
            loss, matrix.meanIoU, matrix.accuracy, seconds)
        let perClass = zip(classNames, matrix.perClassIoU).map { name, iou in
            "\(name) \(iou.map { String(format: "%.3f", $0) } ?? "-")"
        }
        return head + "\n  IoU: " + perClass.joined(separator: ", ")
    }
}

/// Evaluates a model on the held-out set in inference mode.
struct HeldOutEvaluator {
    let data: DatasetPair
    let batchSize: Int
    let samples: Int

    func evaluate(_ trainer: Trainer<Model>) -> HeldOutReport {
        let start = Date()
        var matrix = ConfusionMatrix(classCount: data.numClasses, classNames: data.classNames)
        var lossSum = 0.0, pixels = 0
        for batch in trainingBatches(data.heldOut, batchSize: batchSize, seed: nil, epoch: 0, dropRemainder: false) {
            let logits = trainer.callModel(batch.images)
            let n = batch.labels.count
            lossSum += Double(withoutGradient { trainer.loss(logits, batch.labels) }.scalar) * Double(n)
            pixels += n
            matrix.update(predictions: logits, targets: batch.labels)
        }
        var strip: PNGImage?
        let shown = min(samples, data.heldOut.count)
        if shown > 0 {
            let batch = data.heldOut.batch(indices: Array(0..<shown))
            let logits = trainer.callModel(batch.images)
            let image = SegmentationStrip(stretchInput: false).render(images: batch.images, truth: batch.labels, prediction: logits)
            // Small canvases are hard to see; draw each pixel as a k x k block.
            strip = upscaled(image, by: max(1, min(4, 128 / max(1, min(data.height, data.width)))))
        }
        return HeldOutReport(
            matrix: matrix, loss: lossSum / Double(max(pixels, 1)), seconds: Date().timeIntervalSince(start),
            strip: strip)
    }
}

/// `image` with every pixel repeated `factor` times across and down.
func upscaled(_ image: PNGImage, by factor: Int) -> PNGImage {
    guard factor > 1 else { return image }
    let channels = image.colorType.channels
    let (w, h) = (image.width * factor, image.height * factor)
    var pixels = [UInt8](repeating: 0, count: w * h * channels)
    for y in 0..<h {
        for x in 0..<w {
            let from = ((y / factor) * image.width + x / factor) * channels
            let to = (y * w + x) * channels
            for c in 0..<channels { pixels[to + c] = image.pixels[from + c] }
        }
    }
    return PNGImage(width: w, height: h, colorType: image.colorType, pixels: pixels)
}
