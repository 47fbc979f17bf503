/// The engine and wire version reported by both executables and recorded with every result.
public enum FrontierVersion {
    public static let string = "0.1.0"
}
