import SwitchyardBase

/// Reading a small text file a user named (a rules file), with the system's reason on failure.
public enum TextFile {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ path: String, what: String) throws(ReadError) -> String {
        switch StdioFile.read(path) {
        case .success(let bytes):
            return String(decoding: bytes, as: UTF8.self)
        case .failure(let error):
            throw ReadError(description: "cannot read \(what) \(path): \(error.reason)")
        }
    }
}
