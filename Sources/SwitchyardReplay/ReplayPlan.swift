import SwitchyardCapture
import SwitchyardPackets

/// Who is played and who is expected, decided from the recording, and the recording cut into
/// flows: each flow's played and expected frames in recorded order, or a TCP connection to
/// replay as a stream. Frames of no flow a played endpoint took part in are background.
public struct ReplayPlan: Sendable {
    public struct Participant: Hashable, Sendable {
        public var name: String
        public var recordedMAC: MACAddress
        /// MACs of earlier or later endpoints of the same name in the recording (a client run
        /// twice, a service restarted): replay treats them as the same endpoint.
        public var otherMACs: [MACAddress] = []
        /// Why it is played or expected, for the report.
        public var reason = ""

        public var allMACs: [MACAddress] { [self.recordedMAC] + self.otherMACs }
    }

    public struct Event: Hashable, Sendable {
        public var frame: RecordedFrame
        /// Sent by a played endpoint (`participant` is its index in `played`), or expected
        /// (`participant` is the index in `played` of the endpoint that receives it).
        public var isPlayed: Bool
        public var participant: Int
        /// For an expected frame: the index in `expected` of the endpoint that sends it.
        public var sender: Int?
    }

    public struct Flow: Hashable, Sendable {
        public var key: FlowKey
        /// How a person knows the flow: `tcp.stream 0: 10.0.0.61:40522 → 10.0.0.60:7000`.
        public var label: String
        public var events: [Event]
        /// A TCP connection, replayed as a client against the live server's stream.
        public var connection: RecordedConnection?
        /// The played endpoint that is the connection's client.
        public var connectionClient: Int?
        /// Why a TCP connection is not replayed; its frames are then not compared.
        public var skipReason: String?
        /// The recorded times of its first and last frame (nanoseconds).
        public var start: Int64
        public var end: Int64

        public var expectedCount: Int { self.events.count { !$0.isPlayed } }
        public var playedCount: Int { self.events.count { $0.isPlayed } }
    }

    public struct Skipped: Hashable, Sendable {
        public var frame: RecordedFrame
        public var reason: String
    }

    public var played: [Participant]
    public var expected: [Participant]
    public var flows: [Flow]
    public var skipped: [Skipped]
    /// Recorded frames that are not compared, with why (a kind, or "no played endpoint took part").
    public var background: [Skipped] = []
    /// Endpoints of the recording that are neither played nor expected (they sent only background).
    public var ignored: [Participant] = []
    public var notes: [String] = []

    /// Frames the snapshot length cut that would have been played or compared.
    public var cutFrames: Int { self.skipped.count { $0.frame.originalLength != nil } }

    public var expectedFrameCount: Int { self.flows.reduce(0) { $0 + $1.expectedCount } }
    public var playedFrameCount: Int { self.flows.reduce(0) { $0 + $1.playedCount } }
    public var connectionCount: Int { self.flows.count { $0.connection != nil } }

    /// Decides the roles and the flows.
    /// - Parameters:
    ///   - play, expect: `--play` / `--expect` values, names or MACs; they override the roles
    ///     the recording shows.
    /// An Ethernet header, a VLAN tag and the largest IPv4 or IPv6 datagram (without jumbograms).
    static let largestPaddedFrame = 18 + 65_535 + 40

    public static func make(recording: Recording, play: [String], expect: [String]) throws(ReplayError) -> ReplayPlan {
        var participants = try Self.participants(of: recording)
        let names = participants.map(\.name).joined(separator: ", ")
        for spec in play + expect where !participants.contains(where: { Self.matches(spec, $0) }) {
            if recording.manifest == nil, MACAddress(spec) == nil {
                throw ReplayError(.badOptions, "\(recording.path) has no manifest, so --play and --expect take MAC addresses, not \"\(spec)\"")
            }
            throw ReplayError(.badOptions, "\"\(spec)\" is no endpoint of the recording (its endpoints: \(names))")
        }

        // Who sent each frame, and which flow it is part of.
        let byMAC = Dictionary(participants.enumerated().flatMap { index, participant in participant.allMACs.map { ($0, index) } }, uniquingKeysWith: { first, _ in first })
        let byName = Dictionary(participants.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        var tracker = FlowTracker()
        var classes: [FrameClass] = []
        var senders: [Int?] = []
        var flowOfFrame: [Int?] = []
        var framesOfFlow: [[Int]] = []
        var keyOfFlow: [FlowKey] = []
        for (index, frame) in recording.frames.enumerated() {
            let source = MACAddress(bytes: frame.bytes, offset: 6)!
            senders.append(frame.sender.flatMap { byName[$0] } ?? byMAC[source])
            // A frame the snapshot length cut is classified as if whole (its headers are
            // there), so it joins its flow and that flow says it cannot be replayed. The
            // padding stops at the largest IP datagram: a hostile file may claim 4 GiB.
            let whole = frame.originalLength.map { frame.bytes + Array(repeating: 0, count: max(0, min($0, Self.largestPaddedFrame) - frame.bytes.count)) } ?? frame.bytes
            let frameClass = FrameClass.of(whole)
            classes.append(frameClass)
            let flow = frameClass.background == nil ? tracker.flow(of: frameClass, bytes: frame.bytes) : nil
            flowOfFrame.append(flow)
            if let flow {
                if flow == framesOfFlow.count {
                    framesOfFlow.append([])
                    keyOfFlow.append(frameClass.key!)
                }
                framesOfFlow[flow].append(index)
            }
        }

        // Roles: who opened exchanges that others answered (clients), who answered (services).
        var evidence = Array(repeating: Evidence(), count: participants.count)
        for (flow, frames) in framesOfFlow.enumerated() {
            let opener = Self.opener(of: frames, classes: classes, senders: senders, frames: recording.frames, byMAC: byMAC)
            guard let opener else { continue }
            let answerers = Set(frames.compactMap { senders[$0] }).subtracting([opener])
            let first = recording.frames[frames[0]].number
            let label = Self.label(key: keyOfFlow[flow], frames: frames.map { recording.frames[$0] }, tcpStream: nil)
            let resolution = classes[frames[0]].isResolution
            evidence[opener].opened(resolution: resolution, answered: !answerers.isEmpty, frame: first, label: label)
            for answerer in answerers {
                let firstAnswer = frames.first { senders[$0] == answerer }.map { recording.frames[$0].number } ?? first
                evidence[answerer].answered(resolution: resolution, frame: firstAnswer, label: label)
            }
        }
        var role: [Role] = []
        for (index, participant) in participants.enumerated() {
            if play.contains(where: { Self.matches($0, participant) }) {
                role.append(.played)
                participants[index].reason = "--play"
            } else if expect.contains(where: { Self.matches($0, participant) }) {
                role.append(.expected)
                participants[index].reason = "--expect"
            } else {
                let (decided, reason) = evidence[index].decision
                role.append(decided)
                participants[index].reason = reason
            }
        }
        let playedIndices = participants.indices.filter { role[$0] == .played }
        let expectedIndices = participants.indices.filter { role[$0] == .expected }
        let played = playedIndices.map { participants[$0] }
        let expected = expectedIndices.map { participants[$0] }
        let ignored = participants.indices.filter { role[$0] == .ignored }.map { participants[$0] }
        guard !played.isEmpty else {
            throw ReplayError(.badOptions, "nothing to play: no endpoint of the recording started an exchange (name the clients with --play)")
        }
        guard !expected.isEmpty else {
            throw ReplayError(.badOptions, "nothing to compare: every endpoint of the recording would be played (\(played.map(\.name).joined(separator: ", "))); name the services under test with --expect")
        }
        let playedPosition = Dictionary(uniqueKeysWithValues: playedIndices.enumerated().map { ($1, $0) })
        let expectedPosition = Dictionary(uniqueKeysWithValues: expectedIndices.enumerated().map { ($1, $0) })
        let firstPlayed = recording.frames.indices.first { senders[$0].map { playedPosition[$0] != nil } == true && classes[$0].background == nil }

        var plan = ReplayPlan(played: played, expected: expected, flows: [], skipped: [])
        plan.ignored = ignored
        var tcpStreams = 0
        var flowOfTracked: [Int: Int] = [:]
        for (tracked, frames) in framesOfFlow.enumerated() {
            let key = keyOfFlow[tracked]
            let recorded = frames.map { recording.frames[$0] }
            let tcpStream: Int? = key.kind == .tcp ? tcpStreams : nil
            if key.kind == .tcp { tcpStreams += 1 }
            let label = Self.label(key: key, frames: recorded, tcpStream: tcpStream)
            let playedSenders = frames.compactMap { senders[$0].flatMap { playedPosition[$0] } }
            let opener = Self.opener(of: frames, classes: classes, senders: senders, frames: recording.frames, byMAC: byMAC)
            guard !playedSenders.isEmpty else {
                plan.background += recorded.map { Skipped(frame: $0, reason: "no played endpoint took part in its flow") }
                continue
            }
            if classes[frames[0]].isResolution, let opener, expectedPosition[opener] != nil {
                plan.background += recorded.map { Skipped(frame: $0, reason: "an address request from an endpoint under test (played endpoints answer it themselves)") }
                continue
            }
            var flow = Flow(key: key, label: label, events: [], start: recorded[0].timestamp.totalNanoseconds, end: recorded[recorded.count - 1].timestamp.totalNanoseconds)
            if key.kind == .tcp {
                if let cut = recorded.first(where: { $0.originalLength != nil }) {
                    flow.skipReason = "its segments were cut by the snapshot length (frame \(cut.number) was \(cut.cutDescription!))"
                } else if key.low.address.count == 16 {
                    flow.skipReason = "an IPv6 connection: replay plays IPv4 TCP connections only"
                } else if let opener, let client = playedPosition[opener] {
                    switch RecordedConnection.read(recorded) {
                    case .success(let connection):
                        flow.connection = connection
                        flow.connectionClient = client
                    case .failure(let refusal):
                        flow.skipReason = refusal.reason
                    }
                } else {
                    flow.skipReason = "its client is under test, and replay plays only the clients of TCP connections"
                }
                flowOfTracked[tracked] = plan.flows.count
                plan.flows.append(flow)
                continue
            }
            for index in frames {
                let frame = recording.frames[index]
                let destination = MACAddress(bytes: frame.bytes, offset: 0)!
                if let cut = frame.cutDescription, senders[index].map({ playedPosition[$0] != nil || expectedPosition[$0] != nil }) == true {
                    plan.skipped.append(Skipped(frame: frame, reason: "\(cut): it cannot be replayed bit for bit"))
                    continue
                }
                guard let sender = senders[index] else {
                    plan.skipped.append(Skipped(frame: frame, reason: "sent from \(MACAddress(bytes: frame.bytes, offset: 6)!), no endpoint of the recording"))
                    continue
                }
                if let position = playedPosition[sender] {
                    flow.events.append(Event(frame: frame, isPlayed: true, participant: position))
                } else if let position = expectedPosition[sender] {
                    guard let firstPlayed, index > firstPlayed else {
                        plan.skipped.append(Skipped(frame: frame, reason: "sent before the first played frame"))
                        continue
                    }
                    if let receiver = byMAC[destination], let receiverPosition = playedPosition[receiver] {
                        flow.events.append(Event(frame: frame, isPlayed: false, participant: receiverPosition, sender: position))
                    } else if let receiver = byMAC[destination], expectedPosition[receiver] != nil {
                        plan.skipped.append(Skipped(frame: frame, reason: "sent between endpoints under test, which replay cannot see"))
                    } else {
                        // Broadcast, multicast or unknown unicast: flooded, so the first played endpoint sees it.
                        flow.events.append(Event(frame: frame, isPlayed: false, participant: 0, sender: position))
                    }
                } else {
                    plan.background.append(Skipped(frame: frame, reason: "sent by \(participants[sender].name), which sent only background frames"))
                }
            }
            guard !flow.events.isEmpty else { continue }
            flowOfTracked[tracked] = plan.flows.count
            plan.flows.append(flow)
        }
        for (index, frameClass) in classes.enumerated() {
            if let cut = recording.frames[index].cutDescription, frameClass.background?.hasPrefix("malformed") == true {
                plan.skipped.append(Skipped(frame: recording.frames[index], reason: "\(cut): it cannot be replayed bit for bit"))
            } else if let reason = frameClass.background {
                plan.background.append(Skipped(frame: recording.frames[index], reason: reason))
            } else if flowOfFrame[index] == nil {
                plan.background.append(Skipped(frame: recording.frames[index], reason: "a fragment whose first fragment is not in the recording"))
            }
        }
        plan.background.sort { $0.frame.number < $1.frame.number }
        plan.skipped.sort { $0.frame.number < $1.frame.number }
        return plan
    }

    enum Role: Sendable {
        case played
        case expected
        case ignored
    }

    /// What the recording shows an endpoint doing.
    struct Evidence: Sendable {
        var opened: (frame: Int, label: String)?
        var openedUnanswered: (frame: Int, label: String)?
        var answered: (frame: Int, label: String)?
        var askedAddress: (frame: Int, label: String)?
        var gaveAddress: (frame: Int, label: String)?

        mutating func opened(resolution: Bool, answered: Bool, frame: Int, label: String) {
            if resolution {
                if self.askedAddress == nil { self.askedAddress = (frame, label) }
            } else if answered {
                if self.opened == nil { self.opened = (frame, label) }
            } else if self.openedUnanswered == nil {
                self.openedUnanswered = (frame, label)
            }
        }

        mutating func answered(resolution: Bool, frame: Int, label: String) {
            if resolution {
                if self.gaveAddress == nil { self.gaveAddress = (frame, label) }
            } else if self.answered == nil || frame < self.answered!.frame {
                self.answered = (frame, label)
            }
        }

        var decision: (Role, String) {
            switch (self.opened, self.answered) {
            case (let opened?, let answered?):
                // Both: what it did first says what it is (a resolver answers, then asks upstream).
                return opened.frame < answered.frame
                    ? (.played, "it started \(opened.label) (frame \(opened.frame)) before it answered anything")
                    : (.expected, "it answered \(answered.label) (frame \(answered.frame)) before it started anything")
            case (let opened?, nil):
                return (.played, "it started \(opened.label) (frame \(opened.frame))")
            case (nil, let answered?):
                return (.expected, "it answered \(answered.label) (frame \(answered.frame))")
            case (nil, nil):
                break
            }
            if let asked = self.askedAddress {
                return (.played, "it asked for an address: \(asked.label) (frame \(asked.frame))")
            }
            if let gave = self.gaveAddress {
                return (.expected, "it answered \(gave.label) (frame \(gave.frame))")
            }
            if let unanswered = self.openedUnanswered {
                return (.played, "it started \(unanswered.label) (frame \(unanswered.frame)), which nobody answered")
            }
            return (.ignored, "it sent only background frames")
        }
    }

    /// The participant who began a flow: the sender of its first frame, unless that frame is
    /// an answer (the recording began mid-exchange), then the one it answered.
    static func opener(of frames: [Int], classes: [FrameClass], senders: [Int?], frames recorded: [RecordedFrame], byMAC: [MACAddress: Int]) -> Int? {
        let first = frames[0]
        if classes[first].role == .answers {
            if let destination = MACAddress(bytes: recorded[first].bytes, offset: 0), let receiver = byMAC[destination] {
                return receiver
            }
            return frames.lazy.compactMap { senders[$0] }.first { $0 != senders[first] }
        }
        return senders[first] ?? frames.lazy.compactMap { senders[$0] }.first
    }

    /// The endpoints: from the manifest (by name), else one per source MAC.
    static func participants(of recording: Recording) throws(ReplayError) -> [Participant] {
        var participants: [Participant] = []
        if let manifest = recording.manifest {
            for endpoint in manifest.endpoints {
                guard let mac = MACAddress(endpoint.mac) else {
                    throw ReplayError(.badRecording, "\(RecordingManifest.path(forCapture: recording.path)): endpoint \(endpoint.name) has an invalid MAC \(endpoint.mac)")
                }
                if let index = participants.firstIndex(where: { $0.name == endpoint.name }) {
                    if !participants[index].allMACs.contains(mac) {
                        participants[index].otherMACs.append(mac)
                    }
                    continue
                }
                participants.append(Participant(name: endpoint.name, recordedMAC: mac))
            }
            return participants
        }
        for frame in recording.frames {
            guard let source = MACAddress(bytes: frame.bytes, offset: 6), !source.isGroup,
                  !participants.contains(where: { $0.recordedMAC == source })
            else { continue }
            let hex = source.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            participants.append(Participant(name: "replay-\(hex)", recordedMAC: source))
        }
        return participants
    }

    /// A flow's name in reports, its opener first.
    static func label(key: FlowKey, frames: [RecordedFrame], tcpStream: Int?) -> String {
        let first = frames[0].bytes
        let opener = FlowTracker.source(of: first)
        func ordered() -> String {
            let from = opener.map { opener in key.low.address == opener.address && (key.low.port == opener.port || key.low.port == 0) ? key.low : key.high } ?? key.low
            let to = from == key.low ? key.high : key.low
            return "\(from) → \(to)"
        }
        switch key.kind {
        case .tcp:
            if let connection = TCPFrame(parsing: first), connection.tcp.flags == .syn || connection.tcp.flags == [.syn, .ece, .cwr] {
                return "tcp.stream \(tcpStream ?? 0): \(connection.ip.source):\(connection.tcp.sourcePort) → \(connection.ip.destination):\(connection.tcp.destinationPort)"
            }
            return "tcp.stream \(tcpStream ?? 0): \(key.low) ↔ \(key.high)"
        case .udp: return "udp \(ordered())"
        case .dhcp: return key.description
        case .dns: return "dns id \(key.discriminator): \(ordered())"
        case .echo: return "echo id \(key.discriminator): \(Self.ipOrdered(key, first))"
        case .arp, .neighbor:
            return "\(key.kind == .arp ? "arp" : "nd") \(key.low.addressText) ↔ \(key.high.addressText)"
        case .ip, .ethernet: return key.description
        }
    }

    static func ipOrdered(_ key: FlowKey, _ bytes: [UInt8]) -> String {
        guard bytes.count >= 30, bytes[12] == 0x08, bytes[13] == 0x00 else { return "\(key.low) ↔ \(key.high)" }
        let source = Array(bytes[26..<30])
        return source == key.low.address ? "\(key.low) → \(key.high)" : "\(key.high) → \(key.low)"
    }

    /// The plan with every frame's MACs rewritten to the live endpoints' (`MACMap`).
    public func mapped(by map: MACMap) -> ReplayPlan {
        guard !map.isEmpty else { return self }
        var plan = self
        for flowIndex in plan.flows.indices {
            for eventIndex in plan.flows[flowIndex].events.indices {
                plan.flows[flowIndex].events[eventIndex].frame.bytes = map.apply(to: plan.flows[flowIndex].events[eventIndex].frame.bytes)
            }
            if let syn = plan.flows[flowIndex].connection?.synFrame {
                plan.flows[flowIndex].connection?.synFrame.ethernet.source = map.translate(syn.ethernet.source)
                plan.flows[flowIndex].connection?.synFrame.ethernet.destination = map.translate(syn.ethernet.destination)
            }
        }
        return plan
    }

    static func matches(_ spec: String, _ participant: Participant) -> Bool {
        spec == participant.name || MACAddress(spec).map(participant.allMACs.contains) == true
    }
}
