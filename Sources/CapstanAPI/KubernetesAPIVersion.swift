/// The Kubernetes API version Capstan serves.
public enum KubernetesAPIVersion {
    public static let major = 1
    public static let minor = 33
    public static let patch = 0
    public static var short: String { "v\(major).\(minor)" }
    public static var gitVersion: String { "v\(major).\(minor).\(patch)" }
}
