import Logging

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(CoreFoundation)
    // Where the toolchain's module map puts `struct stat` once Foundation is in the build.
    import CoreFoundation
#endif

/// Whether a descriptor is systemd's journal stream, and the sd-daemon priority prefix a line written there starts
/// with (`sd-daemon(3)`): journald takes `<N>` off the line and keeps `N` as the entry's `PRIORITY`, so that
/// `journalctl -p warning` shows the daemon's warnings and worse.
public enum JournalStream {
    /// The prefix for a line at `level`: trace and debug `<7>`, info `<6>`, notice `<5>`, warning `<4>`, error `<3>`,
    /// critical `<2>`.
    public static func prefix(for level: Logger.Level) -> String {
        "<\(priority(of: level))>"
    }

    /// The syslog priority of `level`.
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The device and inode in a `JOURNAL_STREAM` value (`device:inode`, both decimal), nil when it is not one.
    public static func parse(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }

    /// Whether `environment` (the `JOURNAL_STREAM` value, if any) names the file with this device and inode.
    public static func matches(environment: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let environment, let stream = parse(environment) else { return false }
        return stream.device == device && stream.inode == inode
    }

    /// Whether `fileDescriptor` is the journal's stream: `JOURNAL_STREAM` is set and names its device and inode (a
    /// descriptor redirected elsewhere by the service's own shell no longer matches).
    public static func isConnected(fileDescriptor: Int32) -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return matches(
            environment: String(cString: value),
            device: UInt64(status.st_dev),
            inode: UInt64(status.st_ino)
        )
    }
}
