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
        var batch = CaptureBatch()
        let first = Self.frames(200, seed: 1)
        for frame in first {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count, timestamp: CaptureTimestamp(totalNanoseconds: 1)) }
        }
        #expect(batch.byteCount == first.reduce(0) { $0 + $1.count })
        #expect(batch.byteCount > 64 * 1024, "past the first allocation")
        #expect(Self.contents(of: batch) == first)

        let room = batch.bytes.count
        batch.removeAll()
        #expect(batch.byteCount == 0 && batch.frameCount == 0 && batch.isEmpty)
        let second = Self.frames(50, seed: 2)
        for frame in second {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count + 100, timestamp: CaptureTimestamp(totalNanoseconds: 2)) }
        }
        #expect(Self.contents(of: batch) == second)
        #expect(batch.bytes.count == room, "the room was kept and reused")
    }

    @Test func aRecycledBatchComesBackEmptyWithItsRoom() throws {
        let ring = CaptureRing(byteLimit: 1 << 30, frameLimit: 1 << 20)
        var batch = CaptureBatch()
        let frames = Self.frames(100, seed: 3)
        for frame in frames {
            frame.withUnsafeBytes { batch.append($0, originalLength: frame.count, timestamp: CaptureTimestamp(totalNanoseconds: 3)) }
        }
        let room = batch.bytes.count
        _ = ring.push(&batch)
        #expect(batch.isEmpty && batch.bytes.isEmpty, "a fresh spare: none recycled yet")

        var taken = try #require(ring.take(timeout: 0))
        #expect(taken.count == 1)
        #expect(Self.contents(of: taken[0]) == frames)
        ring.recycle(&taken)
        #expect(taken.isEmpty)

        frames[0].withUnsafeBytes { batch.append($0, originalLength: frames[0].count, timestamp: CaptureTimestamp(totalNanoseconds: 4)) }
        _ = ring.push(&batch)
        #expect(batch.isEmpty && batch.byteCount == 0)
        #expect(batch.bytes.count == room, "the recycled batch, its room kept")
    }
}
