#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Line output for tools whose stdout is read by scripts: each line is one `write(2)` to the
/// descriptor, so a script waiting for a ready line sees it at once even through a pipe.
///
/// No stdio here: flushing stdio (`fflush(NULL)` in particular) would also flush every other
/// stream, such as a capture file whose writer thread owns it without stdio's locks.
public enum StandardOutput {
    public static func line(_ text: String) {
        Self.write(text + "\n", to: STDOUT_FILENO)
    }

    /// One line to stderr (user-facing errors: no stack traces); `newline: false` for a
    /// progress line redrawn in place.
    public static func error(_ text: String, newline: Bool = true) {
        Self.write(newline ? text + "\n" : text, to: STDERR_FILENO)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var line = text
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR {
                    continue
                }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
