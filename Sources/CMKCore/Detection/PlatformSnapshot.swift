/// The local signals every provider's detection reads, collected once per run by the host.
///
/// Paths are the logical ones (`/sys/class/dmi/id/sys_vendor`) even when the host read them under
/// `CMK_SYS_ROOT`, so providers never see the fixture root.
public struct PlatformSnapshot: Codable, Sendable, Equatable {
    /// The process environment.
    public var environment: [String: String]
    /// Contents of the signal files that exist and are readable, by logical path.
    public var files: [String: String]

    public init(environment: [String: String] = [:], files: [String: String] = [:]) {
        self.environment = environment
        self.files = files
    }

    public static let dmiDirectory = "/sys/class/dmi/id"
    public static let cloudIDPath = "/run/cloud-init/cloud-id"
    public static let hypervisorUUIDPath = "/sys/hypervisor/uuid"

    /// A file's content without surrounding whitespace, or nil when absent or empty.
    public func file(_ path: String) -> String? {
        guard let raw = files[path] else { return nil }
        let value = raw.trimmingWhitespace()
        return value.isEmpty ? nil : value
    }

    /// A world-readable DMI field (`sys_vendor`, `chassis_asset_tag`), trimmed.
    public func dmi(_ field: String) -> String? { file("\(Self.dmiDirectory)/\(field)") }

    /// What cloud-init decided, if it ran (`aws`, `azure`, `gce`, `aws-gov`).
    public var cloudID: String? { file(Self.cloudIDPath) }

    /// A non-empty environment variable.
    public func env(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}

extension String {
    /// Self without leading and trailing spaces, tabs and newlines (FoundationEssentials has no trimming).
    package func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\0" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
