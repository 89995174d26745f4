extension FabricCore {
    /// Broken internal rules, described; empty when the state is consistent. For fuzzing and
    /// tests: every endpoint has a live owner that lists it, every MAC table entry (own and
    /// learned) points at a live endpoint, every subscription belongs to a live connection, and
    /// the promiscuous list holds exactly the endpoints with a promiscuous subscription.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        let live = self.allEndpoints
        let liveIDs = Set(live.map(\.id))
        for endpoint in live {
            guard let owner = self.connectionEndpoints(endpoint.owner) else {
                problems.append("endpoint \(endpoint.id) is owned by \(endpoint.owner), which is closed")
                continue
            }
            if !owner.contains(endpoint.id) {
                problems.append("endpoint \(endpoint.id) is missing from its owner's list")
            }
            if self.endpointID(forMAC: endpoint.mac) != endpoint.id {
                problems.append("endpoint \(endpoint.id)'s MAC \(endpoint.mac) does not route to it")
            }
            for subscription in endpoint.subscriptions where self.connectionEndpoints(subscription.connection) == nil {
                problems.append("endpoint \(endpoint.id) has a subscription of closed \(subscription.connection)")
            }
        }
        for (mac, id) in self.learnedTable() where !liveIDs.contains(id) {
            problems.append("learned MAC \(mac) points at removed endpoint \(id)")
        }
        if self.learnedMACCount > Self.maximumLearnedMACs {
            problems.append("learned \(self.learnedMACCount) MACs, more than \(Self.maximumLearnedMACs)")
        }
        let promiscuous = Set(live.filter(\.hasPromiscuousSubscription).map(\.id))
        if Set(self.promiscuousEndpointIDs()) != promiscuous || self.promiscuousEndpointIDs().count != promiscuous.count {
            problems.append("promiscuous list \(self.promiscuousEndpointIDs()) does not match \(promiscuous.sorted())")
        }
        return problems
    }
}
