@testable import SwitchyardCapture
import Testing

/// The capture's copy takes streaming stores from `streamingThreshold` bytes, in whole 64-byte
/// lines after a plain head up to the destination's first line and before a plain tail: every
/// size and misalignment of either side must copy exactly its bytes and touch nothing around.
@Suite struct CaptureCopyTests {
    @Test(arguments: [
        0, 1, 63, 64, 65, 4096, CaptureCopy.streamingThreshold - 1, CaptureCopy.streamingThreshold,
        CaptureCopy.streamingThreshold + 1, CaptureCopy.streamingThreshold + 63, 65_535, 65_536 + 129,
    ])
    func everyAlignmentCopiesExactlyItsBytes(count: Int) {
        let guardBytes = 128
        let room = count + 2 * guardBytes + 64
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: room, alignment: 64)
        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: room, alignment: 64)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        for index in 0..<room {
            source[index] = UInt8(truncatingIfNeeded: index &* 7 &+ 3)
        }
        for (sourceOffset, destinationOffset) in [(0, 0), (1, 0), (0, 1), (17, 33), (63, 63), (32, 5)] {
            destination.initializeMemory(as: UInt8.self, repeating: 0xEE)
            let from = source.baseAddress! + guardBytes + sourceOffset
            let to = destination.baseAddress! + guardBytes + destinationOffset
            CaptureCopy.copy(to: to, from: from, count: count)
            let copied = UnsafeRawBufferPointer(start: to, count: count)
            #expect(copied.elementsEqual(UnsafeRawBufferPointer(start: from, count: count)), "\(count) bytes, offsets \(sourceOffset), \(destinationOffset)")
            let before = UnsafeRawBufferPointer(start: destination.baseAddress!, count: guardBytes + destinationOffset)
            let after = UnsafeRawBufferPointer(rebasing: destination[(guardBytes + destinationOffset + count)...])
            #expect(before.allSatisfy { $0 == 0xEE } && after.allSatisfy { $0 == 0xEE }, "nothing written around \(count) bytes")
        }
    }
}
