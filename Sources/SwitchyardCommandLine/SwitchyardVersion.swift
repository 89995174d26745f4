/// The version every tool prints for `--version`.
public enum SwitchyardVersion {
    public static let current = "0.4.0"
}
