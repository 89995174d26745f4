#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Line output for tools whose stdout is read by scripts: each line is flushed at once, so a
/// script waiting for a ready line sees it even when stdout is a pipe.
public enum StandardOutput {
    public static func line(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// One line to stderr (user-facing errors: no stack traces).
    public static func error(_ text: String) {
        fflush(nil)
        var line = text
        line.append("\n")
        line.withUTF8 { bytes in
            _ = write(2, bytes.baseAddress, bytes.count)
        }
    }
}
