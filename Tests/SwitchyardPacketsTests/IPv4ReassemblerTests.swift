import SwitchyardPackets
import Testing

/// Reassembly (RFC 791) in every order, with what a hostile sender does: duplicates, overlaps,
/// a missing last fragment, a storm of ids, more than 64 KiB. Time is the test's.
@Suite struct IPv4ReassemblerTests {
    static let client = IPv4Address(10, 0, 0, 50)
    static let service = IPv4Address(10, 0, 0, 2)

    /// A UDP-sized datagram of `count` payload bytes (a pattern, so misplaced bytes show).
    static func datagram(_ count: Int, id: UInt16 = 7, source: IPv4Address = Self.client) -> IPv4Packet {
        IPv4Packet(source: source, destination: Self.service, protocolNumber: .udp, payload: (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 256) }, identification: id)
    }

    /// Fragments as a kernel sends them at `mtu`, each re-parsed from its bytes as a receiver
    /// sees them.
    static func fragments(of packet: IPv4Packet, mtu: Int = 1500) throws -> [IPv4Packet] {
        let pieces = try #require(IPv4Fragmenter.fragments(of: packet, mtu: mtu, identification: packet.identification))
        return try pieces.map { try #require(IPv4Packet(parsing: $0.bytes[...])) }
    }

    /// `packet` with its header checksum made right again after a test changed it.
    static func resealed(_ packet: IPv4Packet) -> IPv4Packet {
        IPv4Packet(parsing: packet.bytes[...])!
    }

    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index in
            var rest = items
            let first = rest.remove(at: index)
            return Self.permutations(rest).map { [first] + $0 }
        }
    }

    @Test func fragmentsHaveKernelShapes() throws {
        let whole = Self.datagram(3000 + 8)
        let pieces = try Self.fragments(of: whole)
        #expect(pieces.map(\.totalLength) == [1500, 1500, 68])
        #expect(pieces.map { $0.flagsAndFragmentOffset } == [0x2000, 0x2000 | 185, 370])
        #expect(pieces.allSatisfy { $0.isHeaderChecksumValid && $0.isFragment && $0.identification == 7 })
        #expect(try #require(IPv4Fragmenter.fragments(of: whole, mtu: 3028, identification: 9)) == [whole], "what fits is sent whole")
        var dontFragment = whole
        dontFragment.flagsAndFragmentOffset = 0x4000
        #expect(IPv4Fragmenter.fragments(of: dontFragment, mtu: 1500, identification: 1) == nil)
    }

    @Test func everyOrderOfFragmentsGivesTheDatagramBack() throws {
        let whole = Self.datagram(3000 + 8)
        for order in Self.permutations(try Self.fragments(of: whole)) {
            var reassembler = IPv4Reassembler()
            var outcomes: [IPv4Reassembler.Outcome] = []
            for fragment in order {
                outcomes.append(reassembler.add(fragment, now: .zero))
            }
            guard case .complete(let got) = outcomes.last else {
                Issue.record("\(order.map(\.flagsAndFragmentOffset)): \(outcomes)")
                continue
            }
            #expect(Array(got.payload) == Array(whole.payload))
            #expect(!got.isFragment && got.totalLength == whole.totalLength)
            #expect(IPv4Packet(parsing: got.bytes[...])?.isHeaderChecksumValid == true)
            #expect(reassembler.inProgress == 0 && reassembler.heldBytes == 0)
        }
    }

    @Test func theLargestDatagramReassemblesAndOneByteMoreIsRefused() throws {
        var reassembler = IPv4Reassembler()
        let largest = Self.datagram(65_535 - 20)
        var last: IPv4Reassembler.Outcome?
        for fragment in try Self.fragments(of: largest).reversed() {
            last = reassembler.add(fragment, now: .zero)
        }
        guard case .complete(let got) = last else { Issue.record("\(String(describing: last))"); return }
        #expect(got.totalLength == 65_535)

        // A last fragment whose end passes 65,535 (offset 8184 × 8 + 1480 + 20 > 65,535).
        var beyond = IPv4Packet(source: Self.client, destination: Self.service, protocolNumber: .udp, payload: Array(repeating: 1, count: 1480), identification: 8)
        beyond.flagsAndFragmentOffset = 8184
        guard case .refused(.tooLarge) = reassembler.add(Self.resealed(beyond), now: .zero) else { Issue.record("accepted past 64 KiB"); return }
    }

    @Test func anExactDuplicateIsIgnoredAndAnOverlapDropsTheDatagram() throws {
        let pieces = try Self.fragments(of: Self.datagram(3000 + 8))
        var reassembler = IPv4Reassembler()
        _ = reassembler.add(pieces[0], now: .zero)
        guard case .held = reassembler.add(pieces[0], now: .zero) else { Issue.record("duplicate not ignored"); return }
        _ = reassembler.add(pieces[1], now: .zero)
        guard case .complete = reassembler.add(pieces[2], now: .zero) else { Issue.record("duplicate spoiled the datagram"); return }

        // The second fragment again, but starting 8 bytes early: it overlaps the first.
        _ = reassembler.add(pieces[0], now: .zero)
        var overlapping = pieces[1]
        overlapping.flagsAndFragmentOffset -= 1
        guard case .refused(.overlapping) = reassembler.add(Self.resealed(overlapping), now: .zero) else { Issue.record("overlap accepted"); return }
        #expect(reassembler.inProgress == 0 && reassembler.heldBytes == 0, "the whole datagram is dropped")
        // What was left of it starts a new datagram that never completes on its own.
        guard case .held = reassembler.add(pieces[2], now: .zero) else { Issue.record(); return }
        #expect(reassembler.refusals == [.overlapping: 1])
    }

    @Test func aFragmentWithADamagedHeaderIsRefusedAndCounted() throws {
        var pieces = try Self.fragments(of: Self.datagram(3000 + 8))
        var reassembler = IPv4Reassembler()
        pieces[1].headerChecksum ^= 0x5555
        var outcomes: [IPv4Reassembler.Outcome] = []
        for piece in pieces {
            outcomes.append(reassembler.add(piece, now: .zero))
        }
        guard case .refused(.damagedHeader) = outcomes[1], case .held = outcomes[2] else { Issue.record("\(outcomes)"); return }
        #expect(reassembler.refusals == [.damagedHeader: 1])
    }

    @Test func inconsistentFragmentsDropTheDatagram() throws {
        let pieces = try Self.fragments(of: Self.datagram(3000 + 8))
        var reassembler = IPv4Reassembler()
        _ = reassembler.add(pieces[2], now: .zero)
        var longer = pieces[2]
        longer.payload = Array(repeating: 0, count: 40)[...]
        guard case .refused(.inconsistent) = reassembler.add(Self.resealed(longer), now: .zero) else { Issue.record("two different ends accepted"); return }
        var unaligned = pieces[0]
        unaligned.payload = unaligned.payload.dropLast(3)
        guard case .refused(.inconsistent) = reassembler.add(Self.resealed(unaligned), now: .zero) else { Issue.record("a middle fragment not a multiple of 8"); return }
        var empty = pieces[1]
        empty.payload = []
        guard case .refused(.inconsistent) = reassembler.add(Self.resealed(empty), now: .zero) else { Issue.record("an empty fragment"); return }
        #expect(reassembler.heldBytes == 0)
    }

    @Test func aMissingLastFragmentTimesOutByTheCallersClock() throws {
        let pieces = try Self.fragments(of: Self.datagram(3000 + 8))
        var reassembler = IPv4Reassembler(limits: .init(timeout: .seconds(30)))
        _ = reassembler.add(pieces[0], now: .seconds(1))
        _ = reassembler.add(pieces[1], now: .seconds(2))
        reassembler.expire(now: .seconds(30.5))
        #expect(reassembler.inProgress == 1, "not yet: 29.5 s since it began")
        reassembler.expire(now: .seconds(31))
        #expect(reassembler.inProgress == 0 && reassembler.heldBytes == 0)
        #expect(reassembler.refusals == [.timedOut: 1])
        guard case .held = reassembler.add(pieces[2], now: .seconds(31)) else { Issue.record(); return }
    }

    /// 10,000 first fragments with fresh ids: the table never holds more than its limits, and
    /// a datagram sent among them (its fragments back to back) still comes through.
    @Test func aStormOfTenThousandIdsStaysWithinBoundsAndOthersGetThrough() throws {
        var reassembler = IPv4Reassembler()
        let storm = try Self.fragments(of: Self.datagram(3000 + 8, source: IPv4Address(10, 0, 0, 66)))[0]
        let honest = try Self.fragments(of: Self.datagram(2000, id: 1))
        var completed = 0
        for id in 0..<10_000 {
            var fragment = storm
            fragment.identification = UInt16(id)
            _ = reassembler.add(Self.resealed(fragment), now: .milliseconds(id))
            #expect(reassembler.inProgress <= 64 && reassembler.heldBytes <= 1 << 20)
            if id == 5_000 {
                for piece in honest {
                    if case .complete(let got) = reassembler.add(piece, now: .milliseconds(id)), got.payload.count == 2000 {
                        completed += 1
                    }
                }
            }
        }
        #expect(completed == 1)
        #expect(reassembler.refusals[.tooManyDatagrams] == 10_000 + 1 - 64 - 1, "each eviction counted: \(reassembler.refusals)")
    }

    @Test func theByteBudgetEvictsOlderDatagramsAndRefusesOneThatAloneIsTooBig() throws {
        var reassembler = IPv4Reassembler(limits: .init(datagrams: 64, heldBytes: 4000))
        let first = try Self.fragments(of: Self.datagram(3000 + 8, id: 1))
        let second = try Self.fragments(of: Self.datagram(3000 + 8, id: 2))
        _ = reassembler.add(first[0], now: .zero)
        _ = reassembler.add(first[1], now: .zero)
        _ = reassembler.add(second[0], now: .zero)
        #expect(reassembler.heldBytes <= 4000)
        #expect(reassembler.refusals[.tooManyBytes] == 1, "the older datagram gave way")
        _ = reassembler.add(second[1], now: .zero)
        guard case .complete = reassembler.add(second[2], now: .zero) else { Issue.record(); return }

        var tiny = IPv4Reassembler(limits: .init(datagrams: 64, heldBytes: 2000))
        let big = try Self.fragments(of: Self.datagram(3000 + 8, id: 3))
        _ = tiny.add(big[0], now: .zero)
        guard case .refused(.tooManyBytes) = tiny.add(big[1], now: .zero) else { Issue.record("held past the budget"); return }
        #expect(tiny.heldBytes == 0)
    }
}
