#if canImport(Glibc)
import Glibc
#endif
import SwitchyardCapture

/// The pcapng writer fed arbitrary frames, endpoint names, directions and comments: the file it
/// writes reads back through libpcap with the same frames, and through our index with each
/// frame on its endpoint's interface and in its direction. Then the input itself as a file for
/// our index and libpcap: never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var input = bytes[...]
    func take(_ count: Int) -> [UInt8] {
        let part = Array(input.prefix(count))
        input = input.dropFirst(part.count)
        return part
    }
    struct Item {
        var name: String
        var note: String?
        var direction: CaptureDirection
        var frame: [UInt8]
    }
    var items: [Item] = []
    while !input.isEmpty, items.count < 32 {
        let header = take(4)
        guard header.count == 4 else { break }
        // Names from a small set (so interfaces repeat) or made of the input's bytes.
        let name = header[0] & 0x80 == 0 ? "e\(header[0] % 5)" : String(decoding: take(Int(header[0] & 0x3F)), as: UTF8.self)
        let note = header[1] & 0x80 == 0 ? nil : String(decoding: take(Int(header[1] & 0x7F) * 11), as: UTF8.self)
        let direction: CaptureDirection = header[2] & 1 == 0 ? .inbound : .outbound
        let frame = take(Int(header[3]) * 7)
        items.append(Item(name: name, note: note, direction: direction, frame: frame))
    }

    let path = "/tmp/switchyard-fuzz-pcapng-\(getpid()).pcapng"
    defer { unlink(path) }
    do {
        let output = try CaptureFileOutput(path: path, format: .pcapng, application: "fuzz", interface: "fuzz")
        var names: [String] = []
        for (index, item) in items.enumerated() {
            if !names.contains(item.name) {
                names.append(item.name)
            }
            let id = UInt32(names.firstIndex(of: item.name)! + 1)
            let endpoint = CaptureEndpoint(id: id, name: item.name, mac: "02:53:59:00:00:01", kind: "fuzz")
            try item.frame.withUnsafeBytes {
                try output.write($0, originalLength: item.frame.count, timestamp: CaptureTimestamp(totalNanoseconds: Int64(index)), endpoint: endpoint, direction: item.direction, note: item.note)
            }
        }
        try output.close()
    } catch {
        preconditionFailure("writing to /tmp failed: \(error)")
    }
    let records = try? PcapReader(path: path).readAll()
    precondition(records?.map(\.bytes) == items.map(\.frame), "libpcap reads back the frames written")
    guard let file = fopen(path, "rb") else { preconditionFailure("the file is gone") }
    var written: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        written += chunk[..<count]
        if count < chunk.count { break }
    }
    fclose(file)
    let index = PcapngIndex.read(written)
    precondition(index?.packets.count == items.count)
    for (number, item) in items.enumerated() {
        precondition(index?.interface(ofPacket: number)?.name == item.name, "frame \(number) is on its endpoint's interface")
        precondition(index?.packets[number].direction == item.direction.rawValue)
    }

    // The input as a file of its own.
    _ = PcapngIndex.read(bytes)
    let raw = "/tmp/switchyard-fuzz-raw-\(getpid()).pcapng"
    defer { unlink(raw) }
    if let out = fopen(raw, "wb") {
        bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, out) }
        fclose(out)
        if let reader = try? PcapReader(path: raw) {
            _ = try? reader.readAll()
        }
    }
    return 0
}
