/// Why a fabric could not start. Its description is one line a person can act on.
public struct FabricServerError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case addressInUse
        case cannotBind
    }

    public var code: Code
    public var host: String
    public var port: Int
    private var detail: String

    init(code: Code, host: String, port: Int, detail: String) {
        self.code = code
        self.host = host
        self.port = port
        self.detail = detail
    }

    public var description: String {
        switch self.code {
        case .addressInUse:
            "cannot listen on \(self.host):\(self.port): address already in use (is another switchyardd running? stop it or pick another --port)"
        case .cannotBind:
            "cannot listen on \(self.host):\(self.port): \(self.detail)"
        }
    }
}
