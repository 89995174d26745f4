#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whole small files read with stdio (manifests, rules files, leases): no Foundation on these paths,
/// which are fuzzed (Foundation's `Data(contentsOf:)` leaks a buffer on some failures).
public enum StdioFile {
    /// The file's bytes, or the system's reason it cannot be read.
    /// The first `count` bytes of a file (fewer if it is shorter).
    public static func readPrefix(_ path: String, count: Int) -> Result<[UInt8], StdioFileError> {
        guard let file = fopen(path, "rb") else {
            return .failure(StdioFileError(reason: String(cString: strerror(errno))))
        }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
        bytes.removeLast(count - read)
        return .success(bytes)
    }

    public static func read(_ path: String) -> Result<[UInt8], StdioFileError> {
        guard let file = fopen(path, "rb") else {
            return .failure(StdioFileError(reason: String(cString: strerror(errno))))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes += chunk[..<count]
            if count < chunk.count {
                break
            }
        }
        if ferror(file) != 0 {
            return .failure(StdioFileError(reason: String(cString: strerror(errno))))
        }
        return .success(bytes)
    }

    /// Replaces `path` with `bytes` so a reader (or a crash) sees the old file or the new one,
    /// never a mix: written to `path.tmp`, synced, then renamed over `path`.
    public static func replaceAtomically(_ path: String, with bytes: [UInt8]) -> Result<Void, StdioFileError> {
        let temporary = path + ".tmp"
        func failure() -> Result<Void, StdioFileError> {
            .failure(StdioFileError(reason: String(cString: strerror(errno))))
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return failure() }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let result = failure()
                close(descriptor)
                unlink(temporary)
                return result
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let result = failure()
            close(descriptor)
            unlink(temporary)
            return result
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let result = failure()
            unlink(temporary)
            return result
        }
        return .success(())
    }
}

/// Why a file could not be read, in the system's words.
public struct StdioFileError: Error, Sendable {
    public var reason: String
}
