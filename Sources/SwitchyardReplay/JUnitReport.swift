import SwitchyardPackets

/// JUnit XML for CI systems: one test case per flow (a TCP connection, a DNS query, a DHCP
/// transaction, an ARP exchange), failing with the differences found; one more case for an
/// expected endpoint that was not on the fabric.
public enum JUnitReport {
    public static func xml(for report: ReplayReport, suiteName: String) -> String {
        var cases: [String] = []
        var failures = 0
        func addCase(_ name: String, _ problems: [String]) {
            var element = "    <testcase classname=\"\(XMLText.escape(suiteName))\" name=\"\(XMLText.escape(name))\""
            if problems.isEmpty {
                element += "/>"
            } else {
                failures += 1
                element += ">\n      <failure message=\"\(XMLText.escape(problems[0]))\">\(XMLText.escape(problems.joined(separator: "\n")))</failure>\n    </testcase>"
            }
            cases.append(element)
        }
        for name in report.absent {
            addCase("endpoint \(name)", ["\(name) is not on the fabric: its frames are missing"])
        }
        for (index, flow) in report.plan.flows.enumerated() {
            addCase(flow.label, report.problems(ofFlow: index))
        }
        let strays = report.unexpected.filter { $0.flow == nil }.map { "unexpected: \(FrameSummary.describe($0.bytes))" }
        if !strays.isEmpty {
            addCase("frames of no recorded flow", strays)
        }
        let seconds = report.elapsed.components
        let time = Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="\(XMLText.escape(suiteName))" tests="\(cases.count)" failures="\(failures)" errors="0" time="\(time)">
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
          <testsuite name="\(XMLText.escape(suiteName))" tests="1" failures="0" errors="1" time="0">
            <testcase classname="\(XMLText.escape(suiteName))" name="replay">
              <error message="\(XMLText.escape(message))">\(XMLText.escape(message))</error>
            </testcase>
          </testsuite>
        </testsuites>

        """
    }
}
