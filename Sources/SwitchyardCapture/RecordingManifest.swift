import SwitchyardBase
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The endpoints seen while a capture file was written, stored beside it as
/// `NAME.manifest.json` (for `NAME.pcap`), so that a replay can tell which frames came from
/// which endpoint and map a recorded MAC to a service's current MAC by name.
///
/// Format (docs/recordings.md): `{"format": "switchyard-manifest", "version": 1, "capture":
/// FILE, "endpoints": [{"id", "name", "mac", "created_ns", "closed_ns"}]}`, times in
/// nanoseconds since the Unix epoch like the pcap timestamps, `closed_ns` null while open.
public struct RecordingManifest: Codable, Hashable, Sendable {
    public static let formatName = "switchyard-manifest"

    public var format = Self.formatName
    public var version = 1
    /// The capture file's name (no directory).
    public var capture: String
    public var endpoints: [Endpoint]
    /// The seed of the fabric's rules (`switchyardd --seed`): with the rules and the same
    /// frames, it makes the same impairments again.
    public var seed: UInt64 = 0
    /// The rules in force while the file was written (the last set, when they changed).
    public var rules: [String] = []

    enum CodingKeys: String, CodingKey {
        case format, version, capture, endpoints, seed, rules
    }

    /// Manifests written before rules existed have no seed or rules: 0 and none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.format = try container.decode(String.self, forKey: .format)
        self.version = try container.decode(Int.self, forKey: .version)
        self.capture = try container.decode(String.self, forKey: .capture)
        self.endpoints = try container.decode([Endpoint].self, forKey: .endpoints)
        self.seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        self.rules = try container.decodeIfPresent([String].self, forKey: .rules) ?? []
    }

    public struct Endpoint: Codable, Hashable, Sendable {
        public var id: UInt32
        public var name: String
        public var mac: String
        public var createdNanoseconds: Int64
        public var closedNanoseconds: Int64?

        public init(id: UInt32, name: String, mac: String, createdNanoseconds: Int64, closedNanoseconds: Int64? = nil) {
            self.id = id
            self.name = name
            self.mac = mac
            self.createdNanoseconds = createdNanoseconds
            self.closedNanoseconds = closedNanoseconds
        }

        /// Every key, `closed_ns` as `null` while the endpoint is open (docs/recordings.md).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.id, forKey: .id)
            try container.encode(self.name, forKey: .name)
            try container.encode(self.mac, forKey: .mac)
            try container.encode(self.createdNanoseconds, forKey: .createdNanoseconds)
            try container.encode(self.closedNanoseconds, forKey: .closedNanoseconds)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, mac
            case createdNanoseconds = "created_ns"
            case closedNanoseconds = "closed_ns"
        }
    }

    public init(capture: String, endpoints: [Endpoint], seed: UInt64 = 0, rules: [String] = []) {
        self.capture = capture
        self.endpoints = endpoints
        self.seed = seed
        self.rules = rules
    }

    /// `dir/NAME.manifest.json` for `dir/NAME.pcap` (or `dir/NAME.pcapng`, or any other name).
    public static func path(forCapture capturePath: String) -> String {
        Self.sibling(ofCapture: capturePath, suffix: ".manifest.json")
    }

    /// `dir/NAME` + `suffix` for `dir/NAME.pcap` (or `.pcapng`, or any other name): where the
    /// files that go with a recording are kept (its manifest, its noise file).
    public static func sibling(ofCapture capturePath: String, suffix: String) -> String {
        var base = capturePath
        for extensionSuffix in [".pcapng", ".pcap"] where base.hasSuffix(extensionSuffix) {
            base.removeLast(extensionSuffix.count)
            break
        }
        return base + suffix
    }

    /// Reads a manifest; errors name the file and what is wrong with it.
    public static func load(path: String) throws(PcapError) -> RecordingManifest {
        let data = Data(try Self.readFile(path))
        let manifest: RecordingManifest
        do {
            manifest = try JSONDecoder().decode(RecordingManifest.self, from: data)
        } catch {
            throw PcapError(.badFile, "\(path) is not a Switchyard manifest: \(Self.describe(error))")
        }
        guard manifest.format == Self.formatName, manifest.version == 1 else {
            throw PcapError(.badFile, "\(path): unsupported manifest format \(manifest.format) version \(manifest.version)")
        }
        return manifest
    }

    /// Writes the manifest atomically (a reader never sees half a file).
    public func write(path: String) throws(PcapError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PcapError(.writeFailed, "cannot write manifest \(path): \(error.localizedDescription)")
        }
    }

    /// The file's bytes (stdio: see `StdioFile`).
    static func readFile(_ path: String) throws(PcapError) -> [UInt8] {
        switch StdioFile.read(path) {
        case .success(let bytes):
            return bytes
        case .failure(let error):
            throw PcapError(.cannotOpenFile, "cannot read manifest \(path): \(error.reason)")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "not valid JSON"
        }
    }
}
