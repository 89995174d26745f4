import Foundation
import SwitchyardClient
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

/// switchyard-tftpd with clients we did not write: tftp-hpa's and curl's in a namespace behind
/// switchyard-tap, and an unmodified QEMU VM that boots from the fabric with iPXE.
@Suite(.timeLimit(.minutes(5))) struct TFTPBootTests {
    static let vmMAC = MACAddress("52:54:00:12:34:58")!

    /// A root with a text file and 1 MB of bytes no two runs share, and tftpd serving it.
    static func startTFTP(port: Int, root: URL) async throws -> (ChildProcess, [UInt8]) {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let big = (0..<1_000_000).map { _ in UInt8.random(in: 0...255) }
        try Data(big).write(to: root.appendingPathComponent("big.bin"))
        try Data("line one\nline two\n".utf8).write(to: root.appendingPathComponent("notes.txt"))
        let tftpd = try ChildProcess(Tools.executable("switchyard-tftpd"), ["--port", "\(port)", "--root", root.path])
        _ = try await tftpd.waitForLine(startingWith: "[svc_tftp] ready")
        return (tftpd, big)
    }

    @Test(.requires(.all(.namespaces, .tool("tftp", package: "tftp-hpa"), .tool("curl", package: "curl"))))
    func theKernelsClientsFetchFilesWholeAndAreRefusedWhatTheyMayNot() async throws {
        let directory = try temporaryDirectory()
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let (tftpd, big) = try await Self.startTFTP(port: fabric.port, root: directory.appendingPathComponent("root"))
        defer { tftpd.signal(SIGKILL) }
        let namespace = try await NetworkNamespace()
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--port", "\(fabric.port)", "--name", "ns1", "--netns", namespace.name, "--address", "10.0.0.50/24"])
        defer { tap.signal(SIGKILL) }
        _ = try await tap.waitForLine(startingWith: "[tap] ready")

        // tftp-hpa, lock-step 512-byte blocks (1,954 of them), then curl with blksize 1468.
        let plain = directory.appendingPathComponent("plain.bin").path
        let hpa = try await namespace.run(["tftp", "-m", "binary", "10.0.0.6", "-c", "get", "big.bin", plain])
        #expect(hpa.status == 0, "\(hpa)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: plain))) == big, "tftp-hpa got the file whole")
        let windowed = directory.appendingPathComponent("windowed.bin").path
        let curl = try await namespace.run(["curl", "-sS", "--max-time", "120", "--tftp-blksize", "1468", "-o", windowed, "tftp://10.0.0.6/big.bin"])
        #expect(curl.status == 0, "\(curl)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: windowed))) == big, "curl got the file whole with blksize 1468")
        let text = directory.appendingPathComponent("notes.txt").path
        let ascii = try await namespace.run(["tftp", "-m", "ascii", "10.0.0.6", "-c", "get", "notes.txt", text])
        #expect(ascii.status == 0 && (try? String(contentsOfFile: text, encoding: .utf8)) == "line one\nline two\n", "netascii back to the client's newlines: \(ascii)")

        let outside = try await namespace.run(["tftp", "10.0.0.6", "-c", "get", "../secret", directory.appendingPathComponent("x").path])
        #expect((outside.stdout + outside.stderr).contains("Error code 2"), "\(outside)")
        let missing = try await namespace.run(["tftp", "10.0.0.6", "-c", "get", "nothing.bin", directory.appendingPathComponent("y").path])
        #expect((missing.stdout + missing.stderr).contains("Error code 1"), "\(missing)")
        let write = try await namespace.run(["tftp", "10.0.0.6", "-c", "put", text, "upload.txt"])
        #expect((write.stdout + write.stderr).contains("Error code 2: this server is read-only"), "\(write)")
        tftpd.signal(SIGTERM)
        #expect(try await tftpd.waitForExit() == 0)
    }

    /// An unmodified QEMU with iPXE and no disk: a lease from switchyard-dhcpd (whose next
    /// server is switchyard-tftpd by default), boot.ipxe fetched and run, and the second file
    /// it chain-loads fetched too: the capture proves the script ran. The recording then
    /// replays against fresh services, and catches a changed boot file.
    @Test(.requires(.all(.qemu, .tshark)))
    func aVMBootsFromTheFabricAndRunsItsScript() async throws {
        let directory = try temporaryDirectory()
        let socket = directory.appendingPathComponent("vm.sock").path
        let capture = directory.appendingPathComponent("boot.pcap").path
        let root = directory.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("#!ipxe\nchain tftp://10.0.0.6/second.ipxe\n".utf8).write(to: root.appendingPathComponent("boot.ipxe"))
        try Data("#!ipxe\necho the second script ran\nsleep 60\n".utf8).write(to: root.appendingPathComponent("second.ipxe"))
        try await Fixtures.withDHCPAndDNS(
            fabricArguments: ["--qemu", "vm=unix:\(socket)", "--capture", capture],
            dhcpArguments: ["--boot-file", "boot.ipxe"]
        ) { fabric in
            let tftpd = try ChildProcess(Tools.executable("switchyard-tftpd"), ["--port", "\(fabric.port)", "--root", root.path, "--log-level", "info"])
            defer { tftpd.signal(SIGKILL) }
            _ = try await tftpd.waitForLine(startingWith: "[svc_tftp] ready")
            let vm = try ChildProcess(URL(fileURLWithPath: Tools.which("qemu-system-x86_64")!), [
                "-machine", "pc", "-accel", "tcg", "-m", "128", "-display", "none", "-serial", "null", "-monitor", "none",
                "-no-reboot", "-boot", "n", "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=\(socket)",
                "-device", "e1000,netdev=n0,mac=\(Self.vmMAC)",
            ])
            defer { vm.signal(SIGKILL) }
            // tftpd logs each transfer it finishes; the second is the chain-loaded script.
            try await eventually("iPXE to fetch second.ipxe", within: .seconds(180), every: .milliseconds(250)) {
                tftpd.stderr.contains("sent second.ipxe") || !vm.isRunning
            }
            #expect(tftpd.stderr.contains("sent boot.ipxe"), "\(tftpd.stderr)")
            vm.signal(SIGKILL)
            tftpd.signal(SIGTERM)
            #expect(try await tftpd.waitForExit() == 0)
        }
        let files = try await runCommand("tshark", ["-r", capture, "-Y", "tftp.opcode == 1", "-T", "fields", "-e", "tftp.source_file"])
        let requested = files.stdout.split(separator: "\n").map(String.init)
        #expect(requested.contains("boot.ipxe") && requested.contains("second.ipxe"), "read requests in the capture: \(files.stdout)")
        let lease = try await runCommand("tshark", ["-r", capture, "-Y", "dhcp.option.dhcp == 5", "-T", "fields", "-e", "dhcp.ip.server"])
        #expect(lease.stdout.contains("10.0.0.6"), "the ACK names switchyard-tftpd as the next server: \(lease.stdout)")

        // The recorded boot replays against fresh services (the VM's frames played, its
        // transfers' ports the same), and a changed boot file is a difference.
        let original = try Data(contentsOf: root.appendingPathComponent("boot.ipxe"))
        for (content, status) in [(original, Int32(0)), (Data("#!ipxe\nchain tftp://10.0.0.6/other.ipxe\n".utf8), 1)] {
            try content.write(to: root.appendingPathComponent("boot.ipxe"))
            try await Fixtures.withDHCPAndDNS(dhcpArguments: ["--boot-file", "boot.ipxe"]) { fabric in
                let tftpd = try ChildProcess(Tools.executable("switchyard-tftpd"), ["--port", "\(fabric.port)", "--root", root.path])
                defer { tftpd.signal(SIGKILL) }
                _ = try await tftpd.waitForLine(startingWith: "[svc_tftp] ready")
                let replay = try await Fixtures.replay([capture, "--port", "\(fabric.port)"])
                #expect(replay.exitStatus == status, "\(replay.stdout) \(replay.stderr)")
                if status == 0 {
                    #expect(replay.stdout.contains(" 0 differed, 0 missing; 0 unexpected"), "\(replay.stdout)")
                } else {
                    #expect(replay.stdout.contains("tsize") || replay.stdout.contains("differs"), "\(replay.stdout)")
                }
                tftpd.signal(SIGTERM)
                _ = try await tftpd.waitForExit()
            }
        }
    }
}
