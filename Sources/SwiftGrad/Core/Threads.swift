import CKernels

/// Process-wide settings for the compute kernels.
public enum Kernels {
    /// The number of threads every kernel uses (at least 1).
    public static var threadCount: Int {
        get { Int(ck_get_num_threads()) }
        set {
            precondition(newValue >= 1, "Kernels.threadCount: \(newValue) < 1")
            ck_set_num_threads(Int32(newValue))
        }
    }

    /// The vector instruction set chosen at run time ("avx512", "avx2", "generic").
    public static var isa: String { String(cString: ck_isa_name()) }

    /// Whether 3x3 stride-1 convolutions may use Winograd's F(4x4, 3x3)
    /// (on by default): a quarter of the multiplies, with rounding errors
    /// several times a direct sum's (about 1e-5 of the output's scale).
    /// Off, every convolution is a direct sum, as PyTorch's on CPU.
    public static var winograd: Bool {
        get { ck_get_winograd() != 0 }
        set { ck_set_winograd(newValue ? 1 : 0) }
    }
}
