import SwitchyardBase
import Testing

@testable import SwitchyardFabric

/// `SlotMap` (the switching path's flat tables) against `Dictionary` on the same operations.
@Suite struct SlotMapTests {
    @Test func agreesWithADictionaryThroughInsertsReplacementsAndRemovals() {
        var map = SlotMap()
        var reference: [UInt64: Int] = [:]
        // A fixed generator: the same run every time, with many keys in few home buckets
        // (MAC-like keys differing in the low bits), so runs wrap and removals shift entries.
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for step in 0..<200_000 {
            let key = 0x0253_5900_0000 | (next() % 3000)
            switch next() % 4 {
            case 0, 1:
                let value = Int(next() % 1000)
                map.insert(key, value)
                reference[key] = value
            case 2:
                map.remove(key)
                reference[key] = nil
            default:
                #expect(map.value(for: key) == reference[key], "step \(step)")
            }
            if step % 20_000 == 0 {
                #expect(map.count == reference.count)
            }
        }
        for key in reference.keys {
            #expect(map.value(for: key) == reference[key])
        }
        #expect(Dictionary(uniqueKeysWithValues: map.pairs.map { ($0.key, $0.value) }) == reference)
        map.filter { _, value in value % 2 == 0 }
        #expect(map.count == reference.values.filter { $0 % 2 == 0 }.count)
        for (key, value) in reference {
            #expect(map.value(for: key) == (value % 2 == 0 ? value : nil))
        }
    }

    @Test func emptyAndMissingKeysAnswerNil() {
        var map = SlotMap()
        #expect(map.value(for: 0) == nil)
        map.remove(42)
        map.insert(0, 7)
        #expect(map.value(for: 0) == 7)
        #expect(map.value(for: 1) == nil)
        map[0] = nil
        #expect(map.count == 0 && map.value(for: 0) == nil)
    }
}
