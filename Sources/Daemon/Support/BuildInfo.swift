import CBuildInfo

/// What this binary is: lvsync's version and the git revision it was built from (`lvsync --version`, the
/// `lvsync_build_info` metric, the start's log line).
public enum BuildInfo {
    /// The release this source tree is (semantic versioning; the Debian package's upstream version).
    public static let version = "0.6.0"

    /// The git revision of the build (`git describe --always --dirty`), or "unknown" for a build that was not given
    /// one (a plain `swift build`; ops/package/build-deb.sh gives it).
    public static var revision: String { String(cString: lvsync_build_revision()) }

    /// `0.6.0 (revision f0d8c85)`.
    public static var description: String { "\(version) (revision \(revision))" }
}
