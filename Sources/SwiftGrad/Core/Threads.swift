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
}
