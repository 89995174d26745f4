/// Names of the files of one recording.
///
/// Without rotation the recording is exactly the path given. With rotation (size or duration)
/// it is a numbered series, dumpcap-style: `out.pcap` becomes `out_00001.pcap`,
/// `out_00002.pcap`, …; with a file count only the newest N files are kept.
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

    /// `dir/name_00007.ext` for `dir/name.ext` (the extension is the part after the last dot
    /// of the file name, if any).
    static func numberedPath(_ base: String, _ index: Int) -> String {
        let digits = String(index)
        let number = String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        let slash = base.lastIndex(of: "/")
        let nameStart = slash.map { base.index(after: $0) } ?? base.startIndex
        if let dot = base[nameStart...].lastIndex(of: "."), dot > nameStart {
            return "\(base[..<dot])_\(number)\(base[dot...])"
        }
        return "\(base)_\(number)"
    }
}
