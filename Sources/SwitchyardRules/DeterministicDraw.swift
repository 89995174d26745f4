/// Random draws that are a pure function of (seed, rule, that rule's count of matched
/// deliveries, which draw of that delivery): no state shared between rules, nothing from the
/// time of day or the order of timers. Two runs with the same seed that feed the same frames in
/// the same order draw the same numbers.
///
/// The mixing function is SplitMix64's finaliser (Steele, Lea, Flood: "Fast splittable
/// pseudorandom number generators", 2014), applied to the four keys in turn.
public enum DeterministicDraw {
    public static func bits(seed: UInt64, rule: UInt64, count: UInt64, draw: UInt64) -> UInt64 {
        var state = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        state = Self.mix(state ^ (rule &* 0xD1B5_4A32_D192_ED03))
        state = Self.mix(state ^ (count &* 0x8CB9_2BA7_2F3D_8DD7))
        return Self.mix(state ^ (draw &* 0xABC9_8388_FB8F_AC03))
    }

    /// A draw in [0, 1) with 53 random bits.
    public static func unit(seed: UInt64, rule: UInt64, count: UInt64, draw: UInt64) -> Double {
        Double(Self.bits(seed: seed, rule: rule, count: count, draw: draw) >> 11) * 0x1.0p-53
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
