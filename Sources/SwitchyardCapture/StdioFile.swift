#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whole small files read with stdio (manifests, rules files): no Foundation on these paths,
/// which are fuzzed (Foundation's `Data(contentsOf:)` leaks a buffer on some failures).
public enum StdioFile {
    /// The file's bytes, or the system's reason it cannot be read.
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
}

/// Why a file could not be read, in the system's words.
public struct StdioFileError: Error, Sendable {
    public var reason: String
}
