import Foundation

/// Process memory figures for reports ("peak_rss_bytes").
public enum PeakMemory {
    /// The peak resident set size of this process in bytes: `VmHWM` from
    /// /proc/self/status on Linux, else `getrusage`'s `ru_maxrss`
    /// (kilobytes on Linux, bytes on macOS). Nil if neither is available.
    public static func residentBytes() -> Int? {
        #if os(Linux)
            if let kb = statusField("VmHWM") { return kb * 1024 }
        #endif
        var usage = rusage()
        #if os(Linux)
            let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
            let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0, usage.ru_maxrss > 0 else { return nil }
        #if os(macOS) || os(iOS)
            return Int(usage.ru_maxrss)
        #else
            return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// The current resident set size in bytes (`VmRSS`), Linux only.
    public static func currentResidentBytes() -> Int? {
        #if os(Linux)
            return statusField("VmRSS").map { $0 * 1024 }
        #else
            return nil
        #endif
    }

    /// A "VmXXX:   1234 kB" field of /proc/self/status, in kB.
    static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter { $0.isNumber }
            return Int(digits)
        }
        return nil
    }

    /// "123.4 MB" style text for a byte count.
    public static func format(bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(bytes), i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(bytes) B" : String(format: "%.1f %@", v, units[i])
    }
}
