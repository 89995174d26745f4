import SwitchyardFabric

/// The open connections' handlers by id. Every delivery looks its destination up here, so the
/// lookup is a `SlotMap` probe and an array read rather than a `Dictionary` search.
///
/// `unretained` lends a handler without retaining it (a retain and a release per delivery
/// were a tenth of the switching thread's time at 64 bytes). That is safe because a handler
/// the table has held stays alive until `releaseRetired()`, which the engine calls only when
/// no delivery is in progress: a delivery's write can close its connection, and with it
/// remove the handler, while the handler is still in use.
struct ConnectionTable {
    private var index = SlotMap()
    private var handlers: [FabricConnectionHandler?] = []
    private var unretained: [Unmanaged<FabricConnectionHandler>?] = []
    private var freeSlots: [Int] = []
    /// Handlers removed since the last `releaseRetired()`, kept alive until then.
    private var retired: [FabricConnectionHandler] = []

    var count: Int { self.index.count }

    @inline(__always)
    subscript(id: ConnectionID) -> FabricConnectionHandler? {
        guard let slot = self.index.value(for: id.rawValue) else { return nil }
        return self.handlers[slot]
    }

    /// The handler of `id`, not retained (see above), for `_withUnsafeGuaranteedRef`.
    @inline(__always)
    func unretained(_ id: ConnectionID) -> Unmanaged<FabricConnectionHandler>? {
        guard let slot = self.index.value(for: id.rawValue) else { return nil }
        return self.unretained[slot]
    }

    mutating func insert(_ handler: FabricConnectionHandler, for id: ConnectionID) {
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.handlers[slot] = handler
            self.unretained[slot] = Unmanaged.passUnretained(handler)
        } else {
            slot = self.handlers.count
            self.handlers.append(handler)
            self.unretained.append(Unmanaged.passUnretained(handler))
        }
        self.index.insert(id.rawValue, slot)
    }

    mutating func remove(_ id: ConnectionID) {
        guard let slot = self.index.value(for: id.rawValue), let handler = self.handlers[slot] else { return }
        self.index.remove(id.rawValue)
        self.retired.append(handler)
        self.handlers[slot] = nil
        self.unretained[slot] = nil
        self.freeSlots.append(slot)
    }

    /// Lets go of removed handlers. Only when no delivery is in progress.
    mutating func releaseRetired() {
        if !self.retired.isEmpty {
            self.retired.removeAll()
        }
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
