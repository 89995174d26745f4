import Foundation

/// Bytes from hex text ("0a0b" → [10, 11]), as test vectors are written.
public func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.count / 2)
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// A path for `name` in a fresh temporary directory of its own.
public func temporaryPath(_ name: String) throws -> String {
    try Tools.temporaryDirectory().appendingPathComponent(name).path
}
