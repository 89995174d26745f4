import SwitchyardBase
import SwitchyardPackets

/// The live endpoints, stored in reusable slots with indexes by id, name and MAC.
///
/// The switching path works with slot numbers: one flat-table lookup (`SlotMap`) turns a MAC or
/// an id into a slot, and reading an endpoint's fields from the slot array copies nothing.
struct EndpointTable: Sendable {
    /// Slot contents; a free slot holds a placeholder with id 0 (ids start at 1).
    private(set) var slots: [Endpoint] = []
    private var freeSlots: [Int] = []
    private var slotByID = SlotMap()
    private var slotByName: [String: Int] = [:]
    private var slotByMAC = SlotMap()
    /// Live slots in endpoint creation order: the order floods are delivered in.
    private(set) var creationOrder: [Int] = []

    @inline(__always)
    func slot(of id: EndpointID) -> Int? {
        self.slotByID.value(for: UInt64(id))
    }

    func slot(named name: String) -> Int? {
        self.slotByName[name]
    }

    /// The slot of the endpoint whose own MAC this is.
    @inline(__always)
    func slot(forMAC mac: MACAddress) -> Int? {
        self.slotByMAC.value(for: mac.rawValue)
    }

    subscript(slot: Int) -> Endpoint {
        _read { yield self.slots[slot] }
        _modify { yield &self.slots[slot] }
    }

    mutating func insert(_ endpoint: Endpoint) -> Int {
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.slots[slot] = endpoint
        } else {
            slot = self.slots.count
            self.slots.append(endpoint)
        }
        self.slotByID.insert(UInt64(endpoint.id), slot)
        self.slotByName[endpoint.name] = slot
        self.slotByMAC.insert(endpoint.mac.rawValue, slot)
        self.creationOrder.append(slot)
        return slot
    }

    /// Removes the endpoints in `slots` and returns them in creation order.
    mutating func remove(slots removing: Set<Int>) -> [Endpoint] {
        var removed: [Endpoint] = []
        for slot in self.creationOrder where removing.contains(slot) {
            let endpoint = self.slots[slot]
            removed.append(endpoint)
            self.slotByID.remove(UInt64(endpoint.id))
            self.slotByName[endpoint.name] = nil
            self.slotByMAC.remove(endpoint.mac.rawValue)
            self.slots[slot] = Endpoint.vacant
            self.freeSlots.append(slot)
        }
        self.creationOrder.removeAll { removing.contains($0) }
        return removed
    }
}

extension Endpoint {
    /// What a free slot holds.
    static let vacant = Endpoint(id: 0, name: "", mac: .zero, owner: ConnectionID(rawValue: 0))
}
