@testable import SwitchyardCapture
import Testing

/// A batch keeps its byte storage between reads (it is recycled through the ring) and copies
/// each frame into it with one copy: what comes out must be exactly what went in, across
/// growth and reuse, and a recycled batch must come back empty with its room kept.
@Suite struct CaptureBatchTests {
    static func frames(_ count: Int, seed: Int) -> [[UInt8]] {
        (0..<count).map { index in
            (0..<(14 + (index * 37 + seed) % 1500)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ seed) }
        }
    }

    static func contents(of batch: CaptureBatch) -> [[UInt8]] {
        var out: [[UInt8]] = []
        batch.forEach { bytes, _ in out.append(Array(bytes)) }
        return out
    }

    @Test func framesPastTheFirstRoomAndAfterAReuseComeOutAsTheyWentIn() {
        let batch = CaptureBatch()
        let first = Self.frames(200, seed: 1)
        for frame in first {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count, timestamp: CaptureTimestamp(totalNanoseconds: 1)) }
        }
        #expect(batch.byteCount == first.reduce(0) { $0 + $1.count })
        #expect(batch.byteCount > 64 * 1024, "past the first allocation")
        #expect(Self.contents(of: batch) == first)

        let room = batch.byteCapacity
        batch.removeAll()
        #expect(batch.byteCount == 0 && batch.frameCount == 0 && batch.isEmpty)
        let second = Self.frames(50, seed: 2)
        for frame in second {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count + 100, timestamp: CaptureTimestamp(totalNanoseconds: 2)) }
        }
        #expect(Self.contents(of: batch) == second)
        #expect(batch.byteCapacity == room, "the room was kept and reused")
    }

    @Test func recordsPastTheFirstRoomKeepTheirOrderAndFields() {
        let batch = CaptureBatch()
        for index in 0..<5000 {
            let frame = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 14 + index % 3)
            frame.withUnsafeBytes {
                batch.append(
                    $0, originalLength: frame.count + index, timestamp: CaptureTimestamp(seconds: Int64(index), nanoseconds: 7),
                    endpoint: UInt32(index % 5), sequence: UInt64(index), direction: index % 2 == 0 ? .inbound : .outbound,
                    note: index % 1000 == 0 ? "note \(index)" : nil
                )
            }
        }
        #expect(batch.recordCapacity >= 5000, "grown past the first 1024 records")
        var index = 0
        batch.forEach { bytes, record in
            #expect(Array(bytes) == [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 14 + index % 3))
            #expect(record.originalLength == bytes.count + index)
            #expect(record.timestamp == CaptureTimestamp(seconds: Int64(index), nanoseconds: 7))
            #expect(record.endpoint == UInt32(index % 5) && record.sequence == UInt64(index))
            #expect(record.direction == (index % 2 == 0 ? .inbound : .outbound))
            #expect(batch.note(of: record) == (index % 1000 == 0 ? "note \(index)" : nil))
            index += 1
        }
        #expect(index == 5000)
    }

    @Test func aRecycledBatchComesBackEmptyWithItsRoom() throws {
        let ring = CaptureRing(byteLimit: 1 << 30, frameLimit: 1 << 20)
        var batch = CaptureBatch()
        let pushed = batch
        let frames = Self.frames(100, seed: 3)
        for frame in frames {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count, timestamp: CaptureTimestamp(totalNanoseconds: 3)) }
        }
        let room = batch.byteCapacity
        #expect(room > 64 * 1024, "grown past the first allocation")
        _ = ring.push(&batch)
        #expect(batch !== pushed && batch.isEmpty, "a fresh spare: none recycled yet")

        var taken = try #require(ring.take(timeout: 0))
        #expect(taken.count == 1)
        #expect(Self.contents(of: taken[0]) == frames)
        ring.recycle(&taken)
        #expect(taken.isEmpty)

        frames[0].withUnsafeBytes { batch.append($0, originalLength: frames[0].count, timestamp: CaptureTimestamp(totalNanoseconds: 4)) }
        _ = ring.push(&batch)
        #expect(batch === pushed, "the recycled batch")
        #expect(batch.isEmpty && batch.byteCount == 0)
        #expect(batch.byteCapacity == room, "its room kept")
    }

    static func push(_ ring: CaptureRing, frames: Int = 1, length: Int = 60, event: Bool = false) -> Bool {
        var batch = CaptureBatch()
        let frame = [UInt8](repeating: 0xAB, count: length)
        for _ in 0..<frames {
            frame.withUnsafeBytes { batch.append($0, originalLength: length, timestamp: CaptureTimestamp(totalNanoseconds: 1)) }
        }
        if event {
            batch.append(.closed(id: 1, at: 1))
        }
        return ring.push(&batch)
    }

    /// A push wakes the writer only once batches have gathered (or the ring is full, or an
    /// endpoint changed); in between the writer finds them at its next look.
    @Test func theWriterIsWokenOnceBatchesHaveGathered() throws {
        let ring = CaptureRing(byteLimit: 1 << 30, frameLimit: 1 << 20)
        for count in 1..<CaptureRing.wakeBatches {
            _ = Self.push(ring)
            #expect(ring.writerWakeups == 0, "\(count) small batches wake nobody")
        }
        _ = Self.push(ring)
        #expect(ring.writerWakeups == 1)
        _ = Self.push(ring)
        #expect(ring.writerWakeups == 1, "woken already: not again before it takes")
        let taken = try #require(ring.take(timeout: 0))
        #expect(taken.count == CaptureRing.wakeBatches + 1)

        _ = Self.push(ring)
        #expect(ring.writerWakeups == 1)
        let late = try #require(ring.take(timeout: 0))
        #expect(late.count == 1, "a lone batch is there for the writer's next look")

        _ = Self.push(ring, event: true)
        #expect(ring.writerWakeups == 2, "an endpoint event wakes the writer")
        _ = ring.take(timeout: 0)
        _ = Self.push(ring, frames: 1, length: 1 << 20)
        #expect(ring.writerWakeups == 3, "a megabyte wakes the writer")
    }

    @Test func aFullRingAndPacketBufferingWakeTheWriterAtOnce() {
        let small = CaptureRing(byteLimit: 1000, frameLimit: 1 << 20)
        #expect(Self.push(small, frames: 20, length: 60), "over its byte limit")
        #expect(small.writerWakeups == 1)

        let buffered = CaptureRing(byteLimit: 1 << 30, frameLimit: 1 << 20, wakesPerBatch: true)
        _ = Self.push(buffered)
        #expect(buffered.writerWakeups == 1)
        _ = buffered.take(timeout: 0)
        _ = Self.push(buffered)
        #expect(buffered.writerWakeups == 2)
    }

    /// Written batches are kept for reuse up to twice the ring's byte limit of room (a full
    /// ring and the batches the writer has in hand), so that a ring
    /// that filled and drained does not make the switching thread allocate batches anew.
    @Test func sparesAreKeptUpToTwiceTheRingsByteLimit() throws {
        let limit = 4 << 20
        let ring = CaptureRing(byteLimit: limit, frameLimit: 1 << 20)
        for _ in 0..<200 {
            _ = Self.push(ring)
        }
        var taken = try #require(ring.take(timeout: 0))
        #expect(taken.count == 200)
        let room = taken[0].byteCapacity
        ring.recycle(&taken)
        let spares = ring.spareRoom
        #expect(spares.batches == 2 * limit / room, "as many as twice the limit has room for")
        #expect(spares.bytes == spares.batches * room && spares.bytes <= 2 * limit)
        _ = Self.push(ring)
        #expect(ring.spareRoom.batches == spares.batches - 1, "a push takes a spare")
        #expect(ring.spareRoom.bytes == spares.bytes - room)
    }
}
