import SwitchyardClient

extension ConnectionOptions {
    /// Connects to the fabric these options name.
    public func connect(clientName: String) async throws -> FabricClient {
        try await FabricClient.connect(to: self.address, clientName: clientName)
    }

    /// Connects, runs `body` with the connection and closes it on every path.
    public func withClient<Result: Sendable>(
        clientName: String,
        _ body: (FabricClient) async throws -> Result
    ) async throws -> Result {
        let client = try await self.connect(clientName: clientName)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}
