public enum HashCoreVersion {
    public static let current = "0.1.0"
}
