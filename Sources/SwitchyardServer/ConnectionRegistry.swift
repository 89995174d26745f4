import Logging
import SwitchyardBase
import SwitchyardFabric
import SwitchyardPackets

/// The open connections: looked up by id for every delivery, limited in number, and charged
/// against one buffer budget; and, during a read, the ones that got something (the touched
/// list phase 2 flushes).
///
/// Lookups are a `SlotMap` probe and an array read rather than a `Dictionary` search.
/// `deliver` uses a destination without retaining it (a retain and a release per delivery
/// were a tenth of the switching thread's time at 64 bytes). That is safe by the two-phase
/// rule: a connection leaves the registry only outside phase 1, and phase 1 does no I/O that
/// could close one (`FabricEngine.assertNotSwitching` checks it in debug builds).
final class ConnectionRegistry {
    private var index = SlotMap()
    private var connections: [FabricConnection?] = []
    private var unretained: [Unmanaged<FabricConnection>?] = []
    private var freeSlots: [Int] = []
    private var nextConnection: UInt64 = 1
    let maximumConnections: Int
    private(set) var connectionsRefused = 0
    /// Bytes held for all connections: written but not yet sent, and half-received messages.
    private(set) var budget: BufferBudget
    /// Connections that got something during this read, in the order they first did.
    private var touched: [FabricConnection] = []
    /// Set by the engine while a read is in phase 1 (switching, no I/O).
    var isSwitching = false

    init(maximumConnections: Int, bufferBudget: Int) {
        self.maximumConnections = maximumConnections
        self.budget = BufferBudget(limit: bufferBudget)
        self.touched.reserveCapacity(64)
    }

    var count: Int { self.index.count }

    subscript(id: ConnectionID) -> FabricConnection? {
        guard let slot = self.index.value(for: id.rawValue) else { return nil }
        return self.connections[slot]
    }

    /// Gives `connection` an id; nil when the fabric already serves its maximum.
    func insert(_ connection: FabricConnection) -> ConnectionID? {
        guard self.index.count < self.maximumConnections else {
            self.connectionsRefused += 1
            return nil
        }
        let id = ConnectionID(rawValue: self.nextConnection)
        self.nextConnection += 1
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.connections[slot] = connection
            self.unretained[slot] = Unmanaged.passUnretained(connection)
        } else {
            slot = self.connections.count
            self.connections.append(connection)
            self.unretained.append(Unmanaged.passUnretained(connection))
        }
        self.index.insert(id.rawValue, slot)
        return id
    }

    func remove(_ id: ConnectionID) {
        assert(!self.isSwitching, "a connection left the registry in phase 1: a delivery may hold it unretained")
        guard let slot = self.index.value(for: id.rawValue), self.connections[slot] != nil else { return }
        self.index.remove(id.rawValue)
        self.connections[slot] = nil
        self.unretained[slot] = nil
        self.freeSlots.append(slot)
    }

    /// Counts bytes held (positive) or released (negative); the crossing, if any.
    @inline(__always)
    func adjustBuffered(by delta: Int) -> BufferBudget.Transition? {
        self.budget.adjust(by: delta)
    }

    @inline(__always)
    func markTouched(_ connection: FabricConnection) {
        if !connection.isTouched {
            connection.isTouched = true
            self.touched.append(connection)
        }
    }

    /// The touched connections, emptying the list (its storage is kept: `spare` gets the
    /// array to fill next time).
    func takeTouched(reusing spare: inout [FabricConnection]) -> [FabricConnection] {
        spare.removeAll(keepingCapacity: true)
        swap(&self.touched, &spare)
        for connection in spare {
            connection.isTouched = false
        }
        return spare
    }

    /// Every open connection, in id (opening) order.
    var all: [FabricConnection] {
        self.connections.compactMap { $0 }.sorted { $0.id < $1.id }
    }

    /// Calls `body` for every open connection, in no particular order.
    func forEach(_ body: (FabricConnection) -> Void) {
        for case let connection? in self.connections {
            body(connection)
        }
    }
}

extension ConnectionRegistry: FrameDestinations {
    /// One frame into `delivery`'s connection's pending batch, with flow control: a
    /// destination over its cap holds `sender` (nil for a frame a rule held back: its sender
    /// is not waiting).
    @inline(__always)
    func deliver(_ frame: UnsafeRawBufferPointer, to delivery: Delivery, from sender: ConnectionID?, offload: VirtioNetHeader?) -> Bool {
        guard let slot = self.index.value(for: delivery.connection.rawValue), let destination = self.unretained[slot] else {
            return false
        }
        // The unretained lookup's invariant (docs/architecture.md, "Unsafe code").
        assert(self.connections[slot] === destination.takeUnretainedValue(), "an unretained connection is not the registry's")
        return destination._withUnsafeGuaranteedRef { destination in
            switch destination.enqueuePacketIn(endpoint: delivery.endpoint, flags: delivery.flags, frame: frame, offload: offload) {
            case .queued:
                self.markTouched(destination)
                return true
            case .written:
                return true
            case .queuedOverCap:
                self.markTouched(destination)
                if let sender {
                    destination.hold(sender)
                }
                return true
            case .dropped:
                return false
            }
        }
    }
}

@available(*, unavailable)
extension ConnectionRegistry: Sendable {}
