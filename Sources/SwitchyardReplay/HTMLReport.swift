import SwitchyardPackets

/// A replay's report as one self-contained HTML page (no scripts, fonts or anything fetched):
/// the summary and what each mask did, then per flow a ladder diagram (endpoints as columns,
/// frames as arrows in time order, each marked played, matched, differed, missing or
/// unexpected) and each difference with both frames' decoded fields side by side. Written as
/// well-formed XHTML, so any XML parser reads it.
public enum HTMLReport {
    public static func page(for report: ReplayReport, title: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(XMLText.escape(title)) — switchyard-replay</title>
            <style>
            body { font: 14px/1.4 sans-serif; margin: 2em; color: #222; }
            h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 2em; }
            .summary { font-family: monospace; padding: .5em; background: #f4f4f4; }
            .verdict-pass { color: #1a7f37; } .verdict-fail { color: #cf222e; }
            table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: 2px 6px; font-family: monospace; font-size: 12px; }
            tr.changed td { background: #ffebe9; }
            svg text { font: 11px monospace; } svg .lane { stroke: #999; stroke-dasharray: 3 3; }
            .played { stroke: #0969da; fill: #0969da; } .matched { stroke: #1a7f37; fill: #1a7f37; }
            .differed { stroke: #cf222e; fill: #cf222e; } .missing { stroke: #8c959f; fill: #8c959f; stroke-dasharray: 6 4; }
            .unexpected { stroke: #bf8700; fill: #bf8700; }
            .legend span { margin-right: 1.5em; font-family: monospace; }
            </style>
            </head>
            <body>
            <h1>\(XMLText.escape(title))</h1>

            """
        let verdict = report.isIdentical ? "identical" : "differs"
        out += "<p class=\"\(report.isIdentical ? "verdict-pass" : "verdict-fail")\"><strong>\(verdict)</strong></p>\n"
        out += "<p class=\"summary\">\(XMLText.escape(report.summary))</p>\n"
        out += "<p class=\"legend\"><span class=\"played\">→ played</span><span class=\"matched\">→ matched</span><span class=\"differed\">→ differed</span><span class=\"missing\">→ missing</span><span class=\"unexpected\">→ unexpected</span></p>\n"
        if !report.masks.isEmpty {
            out += "<h2>Masks</h2>\n<table><tr><th>field</th><th>from</th><th>hid a difference in</th></tr>\n"
            for mask in report.masks {
                out += "<tr\(mask.hid == 0 ? " class=\"changed\"" : "")><td>\(XMLText.escape(mask.name))</td><td>\(XMLText.escape(mask.source))</td><td>\(mask.hid)\(mask.hid == 0 ? " (stale)" : "")</td></tr>\n"
            }
            out += "</table>\n"
        }
        for name in report.absent {
            out += "<p class=\"verdict-fail\">\(XMLText.escape(name)) is not on the fabric: its frames are missing</p>\n"
        }
        for flowIndex in report.plan.flows.indices {
            out += Self.flow(flowIndex, in: report)
        }
        let background = report.plan.background.count + report.liveBackground
        if background > 0 {
            out += "<h2>Background, not compared</h2>\n<table><tr><th>what</th><th>frames</th></tr>\n"
            var kinds: [String: Int] = [:]
            for frame in report.plan.background {
                kinds[frame.reason, default: 0] += 1
            }
            for (kind, count) in kinds.sorted(by: { $0.key < $1.key }) {
                out += "<tr><td>\(XMLText.escape(kind)) (recorded)</td><td>\(count)</td></tr>\n"
            }
            if report.liveBackground > 0 {
                out += "<tr><td>sent live by the endpoints on their own</td><td>\(report.liveBackground)</td></tr>\n"
            }
            out += "</table>\n"
        }
        let stray = report.unexpected.filter { $0.flow == nil }
        if !stray.isEmpty {
            out += "<h2>Unexpected, in no recorded flow</h2>\n<ul>\n"
            for frame in stray {
                out += "<li class=\"unexpected\">\(XMLText.escape(FrameSummary.describe(frame.bytes)))</li>\n"
            }
            out += "</ul>\n"
        }
        out += "</body>\n</html>\n"
        return out
    }

    /// One row of the ladder: a frame between two columns.
    struct Arrow {
        var from: Int
        var to: Int
        var kind: String
        var label: String
    }

    static func flow(_ flowIndex: Int, in report: ReplayReport) -> String {
        let flow = report.plan.flows[flowIndex]
        let results = report.results.filter { $0.flow == flowIndex }
        let unexpected = report.unexpected.filter { $0.flow == flowIndex }
        var columns: [String] = []
        func column(_ mac: MACAddress) -> Int {
            let name = mac.isGroup ? "(flood)" : report.plan.played.first { $0.recordedMAC == mac || $0.otherMACs.contains(mac) }?.name
                ?? report.plan.expected.first { $0.recordedMAC == mac || $0.otherMACs.contains(mac) }?.name ?? mac.description
            if let index = columns.firstIndex(of: name) { return index }
            columns.append(name)
            return columns.count - 1
        }
        func ends(_ bytes: [UInt8]) -> (Int, Int) {
            guard let frame = EthernetFrame(parsing: bytes) else { return (0, 0) }
            return (column(frame.source), column(frame.destination))
        }
        var arrows: [Arrow] = []
        var resultIndex = 0
        for event in flow.events {
            let (from, to) = ends(event.frame.bytes)
            var kind = "played"
            if !event.isPlayed, resultIndex < results.count {
                switch results[resultIndex].verdict {
                case .matched: kind = "matched"
                case .differed: kind = "differed"
                case .missing: kind = "missing"
                }
                resultIndex += 1
            }
            arrows.append(Arrow(from: from, to: to, kind: kind, label: "\(event.frame.number): " + Self.short(event.frame.bytes)))
        }
        for frame in unexpected {
            let (from, to) = ends(frame.bytes)
            arrows.append(Arrow(from: from, to: to, kind: "unexpected", label: "extra: " + Self.short(frame.bytes)))
        }
        var out = "<h2>\(XMLText.escape(flow.label))</h2>\n"
        out += Self.ladder(columns: columns, arrows: arrows)
        for connection in report.connections where connection.flow == flowIndex {
            let text: String
            switch connection.outcome {
            case .matched: text = "stream matched (\(connection.serverBytes) bytes)"
            case .differed(let why): text = "stream differs: " + why
            case .missing(let why): text = "stream missing: " + why
            }
            let pass = connection.outcome == .matched
            out += "<p class=\"\(pass ? "verdict-pass" : "verdict-fail")\">\(XMLText.escape(text))</p>\n"
            if !connection.hiddenBy.isEmpty {
                out += "<p>masked: \(XMLText.escape(connection.hiddenBy.joined(separator: ", ")))</p>\n"
            }
        }
        if let reason = flow.skipReason {
            out += "<p class=\"verdict-fail\">skipped: \(XMLText.escape(reason))</p>\n"
        }
        for result in results {
            switch result.verdict {
            case .matched:
                if !result.hiddenBy.isEmpty {
                    out += "<p>frame \(result.expected.number) matched, masked: \(XMLText.escape(result.hiddenBy.joined(separator: ", ")))</p>\n"
                }
            case .missing:
                out += "<p class=\"missing\">frame \(result.expected.number) missing: \(XMLText.escape(FrameSummary.describe(result.expected.bytes)))</p>\n"
            case .differed(let difference, let received):
                out += "<p class=\"verdict-fail\">frame \(result.expected.number) differs: \(XMLText.escape(difference.description))</p>\n"
                out += Self.fields(expected: result.expected.bytes, received: received)
            }
        }
        return out
    }

    /// A frame's summary without the MACs the columns already show.
    static func short(_ bytes: [UInt8]) -> String {
        let text = FrameSummary.describe(bytes)
        guard let colon = text.range(of: ": ") else { return text }
        return String(text[colon.upperBound...])
    }

    static func ladder(columns: [String], arrows: [Arrow]) -> String {
        let spacing = 220
        let left = 110
        let top = 30
        let row = 26
        // Room on the right for the last column's labels.
        let width = left * 2 + max(0, columns.count - 1) * spacing + 320
        let height = top + arrows.count * row + 20
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\">\n"
        for (index, name) in columns.enumerated() {
            let x = left + index * spacing
            svg += "<text x=\"\(x)\" y=\"16\" text-anchor=\"middle\">\(XMLText.escape(name))</text>\n"
            svg += "<line class=\"lane\" x1=\"\(x)\" y1=\"22\" x2=\"\(x)\" y2=\"\(height - 4)\"/>\n"
        }
        for (index, arrow) in arrows.enumerated() {
            let y = top + index * row + 14
            let x1 = left + arrow.from * spacing
            let x2 = left + arrow.to * spacing
            let tip = x2 >= x1 ? -7 : 7
            svg += "<g class=\"\(arrow.kind)\"><line x1=\"\(x1)\" y1=\"\(y)\" x2=\"\(x2)\" y2=\"\(y)\" stroke-width=\"2\"/>"
            svg += "<polygon points=\"\(x2),\(y) \(x2 + tip),\(y - 4) \(x2 + tip),\(y + 4)\"/>"
            let label = arrow.label.count > 72 ? String(arrow.label.prefix(71)) + "…" : arrow.label
            svg += "<text x=\"\(min(x1, x2) + 4)\" y=\"\(y - 4)\" stroke=\"none\">\(XMLText.escape(label))</text></g>\n"
        }
        return svg + "</svg>\n"
    }

    /// Both frames' decoded fields side by side; the rows that differ are marked.
    static func fields(expected: [UInt8], received: [UInt8]) -> String {
        let a = FrameFields.layout(of: expected)
        let b = FrameFields.layout(of: received)
        var out = "<table><tr><th>field</th><th>expected</th><th>received</th></tr>\n"
        for index in 0..<max(a.count, b.count) {
            let left = index < a.count ? a[index] : nil
            let right = index < b.count ? b[index] : nil
            let name = left?.name ?? right?.name ?? ""
            let expectedValue = left.map { Self.value($0, in: expected) } ?? "(absent)"
            let receivedValue = right.map { Self.value($0, in: received) } ?? "(absent)"
            let changed = expectedValue != receivedValue || left?.name != right?.name
            out += "<tr\(changed ? " class=\"changed\"" : "")><td>\(XMLText.escape(name))</td><td>\(XMLText.escape(expectedValue))</td><td>\(XMLText.escape(receivedValue))</td></tr>\n"
        }
        return out + "</table>\n"
    }

    static func value(_ field: FrameField, in bytes: [UInt8]) -> String {
        let text = FrameFields.render(field, in: bytes)
        return text.count > 80 ? String(text.prefix(79)) + "…" : text
    }
}
