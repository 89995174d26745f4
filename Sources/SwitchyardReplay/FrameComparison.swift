import SwitchyardPackets

/// How a received frame differs from the recorded one.
public struct FrameDifference: Hashable, Sendable {
    /// The first differing field, e.g. `ipv4.ttl` or `udp.payload[3]`.
    public var field: String
    public var expectedValue: String
    public var receivedValue: String
    /// The first differing byte offset.
    public var offset: Int

    public var description: String {
        "\(self.field): expected \(self.expectedValue), got \(self.receivedValue)"
    }
}

/// What comparing one expected frame with the one received found, masks included.
public struct FrameComparison: Sendable {
    /// nil when the frames are equal, masked fields aside.
    public var difference: FrameDifference?
    /// The masks (as given: `ipv4.id`, `ntp.timestamps`) whose fields differed here: what
    /// they hid in this comparison.
    public var hiddenBy: [String]
    /// Every field of the expected frame was masked: nothing of it was compared.
    public var fullyMasked: Bool
}

/// Compares frames byte for byte, except the fields the user masked.
public struct FrameComparator: Sendable {
    private let masked: Set<String>
    /// Each mask as given, with the field names it stands for (checksums that cover them
    /// aside: they change because the field did).
    private let masks: [(name: String, fields: Set<String>)]

    /// `ignoring`: field names from `FrameFields.maskable`.
    public init(ignoring fields: Set<String>) {
        self.masked = FrameFields.maskedNames(for: fields)
        self.masks = fields.sorted().map { name in
            var own: Set<String> = [name]
            if name.hasPrefix("dhcp.option.") {
                own.insert(name + ".header")
            }
            if name == "ntp.timestamps" {
                own.formUnion(["ntp.reference_ts", "ntp.originate_ts", "ntp.receive_ts", "ntp.transmit_ts"])
            }
            return (name, own)
        }
    }

    /// The masks as given, sorted.
    public var maskNames: [String] { self.masks.map(\.name) }

    /// nil when the frames are equal (masked fields aside).
    public func difference(expected: [UInt8], received: [UInt8]) -> FrameDifference? {
        self.compare(expected: expected, received: received).difference
    }

    /// The difference, and what each mask did.
    public func compare(expected: [UInt8], received: [UInt8]) -> FrameComparison {
        let expectedFields = FrameFields.layout(of: expected)
        let receivedFields = FrameFields.layout(of: received)
        guard !self.masks.isEmpty else {
            return FrameComparison(difference: self.difference(expected, received, expectedFields, receivedFields), hiddenBy: [], fullyMasked: false)
        }
        let hiddenBy = self.masks.filter { mask in
            Self.values(of: mask.fields, in: expected, expectedFields) != Self.values(of: mask.fields, in: received, receivedFields)
        }.map(\.name)
        let fullyMasked = expectedFields.allSatisfy { self.masked.contains($0.name) }
        return FrameComparison(difference: self.difference(expected, received, expectedFields, receivedFields), hiddenBy: hiddenBy, fullyMasked: fullyMasked)
    }

    /// Every field that differs (checksums aside: they change with what they cover; a DHCP
    /// option's code and length go with the option), for learning noise. Frames whose fields
    /// do not line up (another layout) give `frame.layout`.
    public func differingFields(expected: [UInt8], received: [UInt8]) -> [String] {
        let a = FrameFields.layout(of: expected)
        let b = FrameFields.layout(of: received)
        guard a.map(\.name) == b.map(\.name) else { return ["frame.layout"] }
        var names: [String] = []
        for (x, y) in zip(a, b) where !x.name.hasSuffix(".checksum") {
            let left = x.range.upperBound <= expected.count ? expected[x.range] : []
            let right = y.range.upperBound <= received.count ? received[y.range] : []
            guard !left.elementsEqual(right) else { continue }
            let name = x.name.hasSuffix(".header") && x.name.hasPrefix("dhcp.option.") ? String(x.name.dropLast(".header".count)) : x.name
            if !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }

    /// The bytes of every field named in `names`, in frame order.
    private static func values(of names: Set<String>, in bytes: [UInt8], _ fields: [FrameField]) -> [ArraySlice<UInt8>] {
        fields.filter { names.contains($0.name) && $0.range.upperBound <= bytes.count }.map { bytes[$0.range] }
    }

    private func difference(_ expected: [UInt8], _ received: [UInt8], _ expectedFields: [FrameField], _ receivedFields: [FrameField]) -> FrameDifference? {
        var left = expected
        var right = received
        if !self.masked.isEmpty {
            for field in expectedFields where self.masked.contains(field.name) {
                Self.blank(&left, field.range)
            }
            for field in receivedFields where self.masked.contains(field.name) {
                Self.blank(&right, field.range)
            }
        }
        if left == right {
            return nil
        }
        // Masked fields of different lengths (a payload, say) leave different lengths behind.
        if !self.masked.isEmpty, Self.unmaskedEqual(left, right, expectedFields, receivedFields, masked: self.masked) {
            return nil
        }
        let common = min(left.count, right.count)
        // Report the first differing field that is not a checksum: a checksum changes because
        // something it covers did, and that something is what a person needs to see.
        let differing = (0..<common).filter { left[$0] != right[$0] }
        let meaningful = differing.first { offset in
            guard let field = expectedFields.first(where: { $0.range.contains(offset) }) else { return true }
            return !field.name.hasSuffix(".checksum")
        }
        guard let offset = meaningful ?? differing.first else {
            return FrameDifference(field: "frame.length", expectedValue: String(expected.count), receivedValue: String(received.count), offset: common)
        }
        guard let field = expectedFields.first(where: { $0.range.contains(offset) }) else {
            return FrameDifference(field: "frame[\(offset)]", expectedValue: Self.byte(expected, offset), receivedValue: Self.byte(received, offset), offset: offset)
        }
        if field.kind == .bytes {
            let index = offset - field.range.lowerBound
            return FrameDifference(field: "\(field.name)[\(index)]", expectedValue: Self.byte(expected, offset), receivedValue: Self.byte(received, offset), offset: offset)
        }
        return FrameDifference(
            field: field.name,
            expectedValue: FrameFields.render(field, in: expected),
            receivedValue: FrameFields.render(field, in: received),
            offset: offset
        )
    }

    private static func blank(_ bytes: inout [UInt8], _ range: Range<Int>) {
        for index in range where index < bytes.count {
            bytes[index] = 0
        }
    }

    /// Equal once masked fields are left out entirely (for masked fields whose length differs).
    private static func unmaskedEqual(_ a: [UInt8], _ b: [UInt8], _ fa: [FrameField], _ fb: [FrameField], masked: Set<String>) -> Bool {
        let keptA = fa.filter { !masked.contains($0.name) }
        let keptB = fb.filter { !masked.contains($0.name) }
        guard keptA.map(\.name) == keptB.map(\.name) else { return false }
        for (x, y) in zip(keptA, keptB) {
            guard x.range.upperBound <= a.count, y.range.upperBound <= b.count, a[x.range].elementsEqual(b[y.range]) else { return false }
        }
        return true
    }

    private static func byte(_ bytes: [UInt8], _ offset: Int) -> String {
        guard offset < bytes.count else { return "(end of frame)" }
        let byte = bytes[offset]
        let hex = "0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        return (0x20..<0x7F).contains(byte) ? "\(hex) '\(Character(UnicodeScalar(byte)))'" : hex
    }

    /// Two short hex lines around `offset`, for a person to see the bytes.
    public static func hexContext(expected: [UInt8], received: [UInt8], offset: Int) -> [String] {
        let start = max(0, offset - offset % 8 - 8)
        func line(_ label: String, _ bytes: [UInt8]) -> String {
            let end = min(bytes.count, start + 24)
            let hex = start < end ? bytes[start..<end].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ") : ""
            return "\(label) @\(start): \(hex)"
        }
        return [line("expected", expected), line("received", received)]
    }
}
