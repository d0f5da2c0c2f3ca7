import Foundation

/// `MNIST(directory:)` reads MNIST, Fashion-MNIST and KMNIST alike.
public typealias MNIST = IDXDataset

/// An MNIST-format dataset: train and test splits read from a directory.
///
/// The directory holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each raw or with
/// `.gz` (the `*.idx3-ubyte` spelling is accepted too). Fashion-MNIST and
/// KMNIST use the same names; EMNIST adds a prefix such as
/// `emnist-balanced-` and stores images transposed (see `emnist(directory:split:)`).
public struct IDXDataset: Sendable {
    /// The training split (60,000 examples of `[28, 28]` for MNIST).
    public let train: ImageClassificationSet
    /// The test split (10,000 examples of `[28, 28]` for MNIST).
    public let test: ImageClassificationSet
    /// The directory the files were read from.
    public let directory: String

    /// Reads both splits from `directory`.
    /// - Parameters:
    ///   - prefix: prepended to every file name, e.g. `"emnist-balanced-"`.
    ///   - numClasses: number of classes; `nil` infers `max(label) + 1`
    ///     over both splits. Defaults to 10 (MNIST, Fashion-MNIST, KMNIST).
    ///   - transposed: transpose every image (EMNIST's on-disk orientation)
    ///     so digits appear upright like MNIST's.
    /// - Throws: `DataError` for missing, corrupt or inconsistent files.
    public init(directory: String, prefix: String = "", numClasses: Int? = 10, transposed: Bool = false) throws {
        let trainImages = try Self.locate("train-images-idx3-ubyte", prefix: prefix, in: directory)
        let trainLabels = try Self.locate("train-labels-idx1-ubyte", prefix: prefix, in: directory)
        let testImages = try Self.locate("t10k-images-idx3-ubyte", prefix: prefix, in: directory)
        let testLabels = try Self.locate("t10k-labels-idx1-ubyte", prefix: prefix, in: directory)
        let train = try Self.readPair(images: trainImages, labels: trainLabels)
        let test = try Self.readPair(images: testImages, labels: testLabels)
        let classes = numClasses ?? (Int(max(train.labels.max() ?? 0, test.labels.max() ?? 0)) + 1)
        self.train = try Self.makeSet(train, numClasses: classes, transposed: transposed)
        self.test = try Self.makeSet(test, numClasses: classes, transposed: transposed)
        self.directory = directory
    }

    /// Reads an EMNIST split (`balanced`, `byclass`, `bymerge`, `digits`,
    /// `letters`, `mnist`) whose files are named `emnist-<split>-train-...`.
    /// Images are transposed upright; classes are inferred from the labels
    /// (EMNIST letters uses labels 1...26, giving 27 classes).
    public static func emnist(directory: String, split: String) throws -> IDXDataset {
        try IDXDataset(directory: directory, prefix: "emnist-\(split)-", numClasses: nil, transposed: true)
    }

    /// Reads one split from an images file `[N, H, W]` and a labels file `[N]`.
    /// - Parameter numClasses: `nil` infers `max(label) + 1`.
    public static func loadSplit(
        imagesPath: String, labelsPath: String, numClasses: Int?, transposed: Bool = false
    ) throws -> ImageClassificationSet {
        let pair = try readPair(images: imagesPath, labels: labelsPath)
        let classes = numClasses ?? (Int(pair.labels.max() ?? 0) + 1)
        return try makeSet(pair, numClasses: classes, transposed: transposed)
    }

    /// The candidate file names for `base`, in the order they are tried.
    static func candidates(_ base: String, prefix: String) -> [String] {
        let dotted = base.replacingOccurrences(of: "-idx", with: ".idx")
        return [base, base + ".gz", dotted, dotted + ".gz"].map { prefix + $0 }
    }

    private static func locate(_ base: String, prefix: String, in directory: String) throws -> String {
        let names = candidates(base, prefix: prefix)
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw DataError.missingFile(directory: directory, candidates: names)
    }

    /// Raw, validated-for-shape contents of an images file and a labels file.
    struct RawPair {
        var imagesPath: String
        var labelsPath: String
        var rows: Int
        var cols: Int
        var images: [UInt8]
        var labels: [Int32]
    }

    private static func readPair(images imagesPath: String, labels labelsPath: String) throws -> RawPair {
        let images = try IDXFile(contentsOf: imagesPath)
        guard images.dimensions.count == 3 else {
            throw DataError.wrongRank(path: imagesPath, expected: 3, actual: images.dimensions.count)
        }
        let labels = try IDXFile(contentsOf: labelsPath)
        guard labels.dimensions.count == 1 else {
            throw DataError.wrongRank(path: labelsPath, expected: 1, actual: labels.dimensions.count)
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError.countMismatch(
                imagesPath: imagesPath, images: images.dimensions[0],
                labelsPath: labelsPath, labels: labels.dimensions[0])
        }
        let (rows, cols) = (images.dimensions[1], images.dimensions[2])
        guard rows > 0, cols > 0 else {
            throw DataError.badDimensions(path: imagesPath, dimensions: images.dimensions, reason: "empty images")
        }
        return RawPair(
            imagesPath: imagesPath, labelsPath: labelsPath, rows: rows, cols: cols,
            images: images.bytes, labels: labels.bytes.map { Int32($0) })
    }

    private static func makeSet(_ pair: RawPair, numClasses: Int, transposed: Bool) throws -> ImageClassificationSet {
        guard numClasses >= 1 else { throw DataError.invalidArgument("numClasses must be at least 1, got \(numClasses)") }
        if let bad = pair.labels.firstIndex(where: { Int($0) >= numClasses }) {
            throw DataError.labelOutOfRange(
                path: pair.labelsPath, index: bad, label: Int(pair.labels[bad]), numClasses: numClasses)
        }
        let set = ImageClassificationSet(
            rows: pair.rows, cols: pair.cols, images: pair.images, labels: pair.labels, numClasses: numClasses)
        return transposed ? set.transposed() : set
    }
}
