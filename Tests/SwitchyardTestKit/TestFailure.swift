/// A test's own failure with what went wrong, for a `throw` where `#expect` cannot go on
/// (a process that did not start, a wait that timed out).
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
