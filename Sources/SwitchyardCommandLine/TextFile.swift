#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reading a small text file a user named (a rules file), with the system's reason on failure.
public enum TextFile {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ path: String, what: String) throws(ReadError) -> String {
        guard let file = fopen(path, "rb") else {
            throw ReadError(description: "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
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
            throw ReadError(description: "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
