import SwitchyardClient

extension ConnectionOptions {
    /// Connects to the fabric these options name.
    public func connect(clientName: String) async throws -> FabricClient {
        try await FabricClient.connect(to: self.address, clientName: clientName)
    }
}
