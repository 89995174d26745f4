import Foundation

/// Bytes from hex text ("0a0b" → [10, 11]; spaces ignored), as test vectors are written.
public func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") })
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var index = 0
    while index + 1 < digits.count {
        bytes.append(UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)!)
        index += 2
    }
    return bytes
}

/// A fresh temporary directory for one test's files.
public func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A path for `name` in a fresh temporary directory of its own.
public func temporaryPath(_ name: String) throws -> String {
    try temporaryDirectory().appendingPathComponent(name).path
}
