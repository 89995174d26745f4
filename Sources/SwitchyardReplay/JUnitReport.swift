import SwitchyardPackets

/// JUnit XML for CI systems: one test case per exchange (a played frame and the frames that
/// answered it), failing with the differences found.
public enum JUnitReport {
    public static func xml(for report: ReplayReport, suiteName: String) -> String {
        var cases: [String] = []
        var failures = 0
        for (index, step) in report.plan.steps.enumerated() {
            let results = report.results.filter { $0.step == index }
            let unexpected = report.unexpected.filter { $0.step == index }
            var problems: [String] = []
            for result in results {
                switch result.verdict {
                case .matched: break
                case .differed(let difference, _): problems.append("frame \(result.expected.number) differs: \(difference.description)")
                case .missing: problems.append("frame \(result.expected.number) missing: \(FrameSummary.describe(result.expected.bytes))")
                }
            }
            problems += unexpected.map { "unexpected: \(FrameSummary.describe($0.bytes))" }
            let name = "frame \(step.frame.number): \(FrameSummary.describe(step.frame.bytes))"
            var element = "    <testcase classname=\"\(escape(suiteName))\" name=\"\(escape(name))\""
            if problems.isEmpty {
                element += "/>"
            } else {
                failures += 1
                element += ">\n      <failure message=\"\(escape(problems[0]))\">\(escape(problems.joined(separator: "\n")))</failure>\n    </testcase>"
            }
            cases.append(element)
        }
        let seconds = report.elapsed.components
        let time = Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="\(escape(suiteName))" tests="\(cases.count)" failures="\(failures)" errors="0" time="\(time)">
            \(cases.joined(separator: "\n"))
              </testsuite>
            </testsuites>

            """
    }

    /// The report of a replay that could not run: one test case with the error, so a CI
    /// parser shows why rather than rejecting an empty file.
    public static func errorXML(message: String, suiteName: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites>
          <testsuite name="\(escape(suiteName))" tests="1" failures="0" errors="1" time="0">
            <testcase classname="\(escape(suiteName))" name="replay">
              <error message="\(escape(message))">\(escape(message))</error>
            </testcase>
          </testsuite>
        </testsuites>

        """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
