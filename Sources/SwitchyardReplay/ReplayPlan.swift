import SwitchyardCapture
import SwitchyardPackets

/// Who is played and who is expected, and the recording cut into steps: each played frame with
/// the expected frames that followed it up to the next played frame.
public struct ReplayPlan: Sendable {
    public struct Participant: Hashable, Sendable {
        public var name: String
        public var recordedMAC: MACAddress
        /// MACs of earlier or later endpoints of the same name in the recording (a client run
        /// twice, a service restarted): replay treats them as the same endpoint.
        public var otherMACs: [MACAddress] = []

        public var allMACs: [MACAddress] { [self.recordedMAC] + self.otherMACs }
    }

    public struct ExpectedFrame: Hashable, Sendable {
        public var frame: RecordedFrame
        /// Index into `played` of the endpoint that receives it.
        public var receiver: Int
    }

    public struct Step: Hashable, Sendable {
        public var frame: RecordedFrame
        /// Index into `played` of the endpoint that sends it.
        public var sender: Int
        public var expected: [ExpectedFrame]
    }

    public struct Skipped: Hashable, Sendable {
        public var frame: RecordedFrame
        public var reason: String
    }

    public var played: [Participant]
    public var expected: [Participant]
    public var steps: [Step]
    public var skipped: [Skipped]
    /// How roles were chosen, when that was not by the fabric's live endpoints.
    public var notes: [String] = []

    public var expectedFrameCount: Int { self.steps.reduce(0) { $0 + $1.expected.count } }

    /// Decides the roles and the steps.
    /// - Parameters:
    ///   - live: names of the recording's endpoints that exist on the fabric now.
    ///   - play, expect: `--play` / `--expect` values, names or MACs.
    public static func make(recording: Recording, live: Set<String>, play: [String], expect: [String]) throws(ReplayError) -> ReplayPlan {
        var participants: [Participant] = []
        var isPlayed: [Bool] = []
        var notes: [String] = []
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
            let names = participants.map(\.name).joined(separator: ", ")
            for spec in play + expect where !participants.contains(where: { Self.matches(spec, $0) }) {
                throw ReplayError(.badOptions, "\"\(spec)\" is no endpoint of the recording (its endpoints: \(names))")
            }
            // Nobody live and nothing said: the services are the endpoints that never spoke first.
            let anyLive = participants.contains { live.contains($0.name) }
            let initiators = anyLive ? [] : Self.initiators(in: recording.frames)
            for participant in participants {
                if play.contains(where: { Self.matches($0, participant) }) {
                    isPlayed.append(true)
                } else if expect.contains(where: { Self.matches($0, participant) }) {
                    isPlayed.append(false)
                } else if anyLive {
                    isPlayed.append(!live.contains(participant.name))
                } else {
                    let initiated = participant.allMACs.contains(where: initiators.contains)
                    isPlayed.append(initiated)
                    if !initiated {
                        notes.append("\(participant.name) is not on the fabric: expecting its frames (it only answered in the recording)")
                    }
                }
            }
        } else {
            guard !play.isEmpty else {
                throw ReplayError(.badOptions, "\(recording.path) has no manifest (\(RecordingManifest.path(forCapture: recording.path))): say which endpoints to play with --play MAC")
            }
            var playMACs: Set<MACAddress> = []
            for spec in play {
                guard let mac = MACAddress(spec) else {
                    throw ReplayError(.badOptions, "\(recording.path) has no manifest, so --play takes MAC addresses, not \"\(spec)\"")
                }
                playMACs.insert(mac)
            }
            for frame in recording.frames {
                guard let source = MACAddress(bytes: frame.bytes, offset: 6), !source.isGroup,
                      !participants.contains(where: { $0.recordedMAC == source })
                else { continue }
                let hex = source.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                participants.append(Participant(name: "replay-\(hex)", recordedMAC: source))
                isPlayed.append(playMACs.contains(source))
            }
            for mac in playMACs where !participants.contains(where: { $0.recordedMAC == mac }) {
                throw ReplayError(.badOptions, "--play \(mac): no frame of \(recording.path) was sent from it")
            }
        }

        let played = zip(participants, isPlayed).filter(\.1).map(\.0)
        let expected = zip(participants, isPlayed).filter { !$0.1 }.map(\.0)
        guard !played.isEmpty else {
            throw ReplayError(.badOptions, "nothing to play: every endpoint of the recording is live on the fabric (name the clients with --play)")
        }
        let playedIndex = Dictionary(played.enumerated().flatMap { index, participant in participant.allMACs.map { ($0, index) } }, uniquingKeysWith: { first, _ in first })
        let expectedMACs = Set(expected.flatMap(\.allMACs))
        let playedByName = Dictionary(played.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let expectedNames = Set(expected.map(\.name))

        var steps: [Step] = []
        var skipped: [Skipped] = []
        for frame in recording.frames {
            let source = MACAddress(bytes: frame.bytes, offset: 6)!
            let destination = MACAddress(bytes: frame.bytes, offset: 0)!
            // The recorded sender's name when the file has it (pcapng), else its source MAC.
            let named = frame.sender.flatMap { playedByName[$0] != nil || expectedNames.contains($0) ? $0 : nil }
            let playedSender = named.map { playedByName[$0] } ?? playedIndex[source]
            let expectedSender = named.map(expectedNames.contains) ?? expectedMACs.contains(source)
            if let sender = playedSender {
                steps.append(Step(frame: frame, sender: sender, expected: []))
            } else if expectedSender {
                guard !steps.isEmpty else {
                    skipped.append(Skipped(frame: frame, reason: "sent before the first played frame"))
                    continue
                }
                if let receiver = playedIndex[destination] {
                    steps[steps.count - 1].expected.append(ExpectedFrame(frame: frame, receiver: receiver))
                } else if expectedMACs.contains(destination) {
                    skipped.append(Skipped(frame: frame, reason: "sent between endpoints under test, which replay cannot see"))
                } else {
                    // Broadcast, multicast or unknown unicast: flooded, so the first played endpoint sees it.
                    steps[steps.count - 1].expected.append(ExpectedFrame(frame: frame, receiver: 0))
                }
            } else {
                skipped.append(Skipped(frame: frame, reason: "sent from \(source), no endpoint of the recording"))
            }
        }
        guard !expected.isEmpty else {
            throw ReplayError(.badOptions, "nothing to compare: every endpoint of the recording would be played (\(played.map(\.name).joined(separator: ", "))); start the services under test or name them with --expect")
        }
        var plan = ReplayPlan(played: played, expected: expected, steps: steps, skipped: skipped)
        plan.notes = notes
        return plan
    }

    /// MACs that sent a frame before any frame was addressed to them: the ones who start
    /// exchanges (clients), as opposed to those who answer (services).
    static func initiators(in frames: [RecordedFrame]) -> Set<MACAddress> {
        var addressed: Set<MACAddress> = []
        var initiators: Set<MACAddress> = []
        for frame in frames {
            guard let destination = MACAddress(bytes: frame.bytes, offset: 0), let source = MACAddress(bytes: frame.bytes, offset: 6) else { continue }
            if !addressed.contains(source) {
                initiators.insert(source)
            }
            if !destination.isGroup {
                addressed.insert(destination)
            }
        }
        return initiators
    }

    static func matches(_ spec: String, _ participant: Participant) -> Bool {
        spec == participant.name || MACAddress(spec).map(participant.allMACs.contains) == true
    }
}
