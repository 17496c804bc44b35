import Config
import IPVS

/// What `lvsync import` makes of a keepalived configuration: the lvsync configuration's text and the report.
public struct ImportResult: Sendable {
    /// The lvsync configuration (YAML), already read back by ``LVSyncConfig`` without an error.
    public var yaml: String
    /// Every keyword not carried over or carried over differently, in the order met.
    public var findings: [ImportFinding]
    /// The virtual services the configuration holds (as `lvsync ipvs apply` would put them in the kernel).
    public var services: [DesiredService]
}
