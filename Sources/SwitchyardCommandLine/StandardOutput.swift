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

    /// One line to stderr (user-facing errors: no stack traces); `newline: false` for a
    /// progress line redrawn in place.
    public static func error(_ text: String, newline: Bool = true) {
        fflush(nil)
        var line = text
        if newline {
            line.append("\n")
        }
        line.withUTF8 { bytes in
            _ = write(2, bytes.baseAddress, bytes.count)
        }
    }
}
