import Control
import IPVS

extension SchedulingFingerprint {
    /// `{"fingerprint": ..., "services": [{"service", "scheduler", "fingerprint", "real_servers"}]}`: `scheduling`
    /// in `lvsync status`, and `lvsync ipvs fingerprint --json`.
    public var json: JSONValue {
        .object([
            "fingerprint": .string(fingerprint),
            "services": .array(
                services.map { service in
                    .object([
                        "service": .string("\(service.key)"),
                        "scheduler": .string(service.scheduler),
                        "fingerprint": .string(service.fingerprint),
                        "real_servers": .array(service.realServers.map { .string("\($0)") }),
                    ])
                }
            ),
        ])
    }
}
