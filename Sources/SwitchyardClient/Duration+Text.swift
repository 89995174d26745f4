import SwitchyardPackets

extension Duration {
    /// Seconds as a person writes them: "3" for whole seconds, "0.5" otherwise.
    public var secondsDescription: String {
        let value = self.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Milliseconds with three decimals, as ping and arping print round trips: "1.234".
    public var millisecondsDescription: String {
        DecimalText.fixed(self.seconds * 1e3, decimals: 3)
    }

    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
