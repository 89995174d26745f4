/// Why a fabric could not start. Its description is one line a person can act on.
public struct FabricServerError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case addressInUse
        case cannotBind
        case socketFileInUse
    }

    public var code: Code
    public var host: String
    public var port: Int
    public var unixPath: String?
    private var detail: String

    init(code: Code, host: String, port: Int, unixPath: String? = nil, detail: String) {
        self.code = code
        self.host = host
        self.port = port
        self.unixPath = unixPath
        self.detail = detail
    }

    private var address: String {
        self.unixPath.map { "unix:\($0)" } ?? ListenAddress.describe(host: self.host, port: self.port)
    }

    public var description: String {
        switch self.code {
        case .addressInUse:
            "cannot listen on \(self.address): address already in use (is another switchyardd running? stop it or pick another --port)"
        case .cannotBind:
            "cannot listen on \(self.address): \(self.detail)"
        case .socketFileInUse:
            "cannot listen on \(self.address): a fabric is already listening there (stop it or pick another --unix path)"
        }
    }
}
