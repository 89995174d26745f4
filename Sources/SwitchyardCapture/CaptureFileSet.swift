import SwitchyardPackets
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Names of the files of one recording.
///
/// Without rotation the recording is exactly the path given (an existing file is replaced, as
/// `tcpdump -w` does). With rotation (size or duration) it is a numbered series, dumpcap-style:
/// `out.pcap` becomes `out_00001.pcap`, `out_00002.pcap`, …. Numbering continues after the
/// highest number already in the directory, so a second run never overwrites or interleaves
/// with the files of an earlier one; with a file count only the newest N files of this run are
/// kept (an earlier run's files are never deleted).
struct CaptureFileSet: Sendable {
    let basePath: String
    let rotates: Bool
    let maximumFiles: Int?
    private(set) var index = 0
    private(set) var kept: [String] = []

    init(configuration: CaptureConfiguration) {
        self.basePath = configuration.path
        self.rotates = configuration.rotates
        self.maximumFiles = configuration.fileCount
        if self.rotates {
            self.index = Self.highestExistingNumber(self.basePath)
        }
    }

    /// The next file to write, and the oldest file to delete to keep the ring's size.
    mutating func next() -> (path: String, expired: String?) {
        self.index += 1
        let path = self.rotates ? Self.numberedPath(self.basePath, self.index) : self.basePath
        self.kept.append(path)
        var expired: String?
        if let maximumFiles = self.maximumFiles, self.kept.count > maximumFiles {
            expired = self.kept.removeFirst()
        }
        return (path, expired)
    }

    /// The parts of `dir/name.ext`: directory (with its slash), name, extension (with its dot).
    private static func split(_ base: String) -> (directory: Substring, name: Substring, ext: Substring) {
        let slash = base.lastIndex(of: "/")
        let nameStart = slash.map { base.index(after: $0) } ?? base.startIndex
        if let dot = base[nameStart...].lastIndex(of: "."), dot > nameStart {
            return (base[..<nameStart], base[nameStart..<dot], base[dot...])
        }
        return (base[..<nameStart], base[nameStart...], "")
    }

    /// `dir/name_00007.ext` for `dir/name.ext` (the extension is the part after the last dot
    /// of the file name, if any).
    static func numberedPath(_ base: String, _ index: Int) -> String {
        let (directory, name, ext) = Self.split(base)
        return "\(directory)\(name)_\(Self.number(index))\(ext)"
    }

    static func number(_ index: Int) -> String {
        DecimalText.zeroPadded(index, width: 5)
    }

    /// The highest N of the `name_N.ext` files in the directory of `base` (0 when none).
    static func highestExistingNumber(_ base: String) -> Int {
        let (directory, name, ext) = Self.split(base)
        let prefix = "\(name)_"
        guard let handle = opendir(directory.isEmpty ? "." : String(directory)) else { return 0 }
        defer { closedir(handle) }
        var highest = 0
        while let entry = readdir(handle) {
            let fileName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard fileName.hasPrefix(prefix), fileName.hasSuffix(ext), fileName.count > prefix.count + ext.count else { continue }
            let digits = fileName.dropFirst(prefix.count).dropLast(ext.count)
            if digits.count >= 5, digits.allSatisfy(\.isASCII), let value = Int(digits) {
                highest = max(highest, value)
            }
        }
        return highest
    }
}
