import SwitchyardFabric

/// The open connections' handlers by id. Every delivery looks its destination up here, so the
/// lookup is a `SlotMap` probe and an array read rather than a `Dictionary` search.
struct ConnectionTable {
    private var index = SlotMap()
    private var handlers: [FabricConnectionHandler?] = []
    private var freeSlots: [Int] = []

    var count: Int { self.index.count }

    @inline(__always)
    subscript(id: ConnectionID) -> FabricConnectionHandler? {
        guard let slot = self.index.value(for: id.rawValue) else { return nil }
        return self.handlers[slot]
    }

    mutating func insert(_ handler: FabricConnectionHandler, for id: ConnectionID) {
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.handlers[slot] = handler
        } else {
            slot = self.handlers.count
            self.handlers.append(handler)
        }
        self.index.insert(id.rawValue, slot)
    }

    mutating func remove(_ id: ConnectionID) {
        guard let slot = self.index.value(for: id.rawValue) else { return }
        self.index.remove(id.rawValue)
        self.handlers[slot] = nil
        self.freeSlots.append(slot)
    }

    /// Every open connection's handler, in id (opening) order.
    var all: [FabricConnectionHandler] {
        self.handlers.compactMap { $0 }.sorted { $0.id < $1.id }
    }

    /// Calls `body` for every open connection's handler, in no particular order.
    func forEach(_ body: (FabricConnectionHandler) -> Void) {
        for case let handler? in self.handlers {
            body(handler)
        }
    }
}

@available(*, unavailable)
extension ConnectionTable: Sendable {}
