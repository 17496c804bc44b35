import Foundation

/// `lvsync status` for a person: the daemon's status object as labelled lines, every field that is present
/// (fields it does not know are shown as JSON at the end), missing ones left out.
public enum StatusText {
    /// The summary of a `status` reply object.
    public static func render(_ status: JSONValue) -> String {
        var rows: [(String, String)] = []
        var seen: Set<String> = ["node", "role", "priority", "effective_priority", "in_sync", "vips", "vips_held"]
        seen.formUnion(["sync", "peers", "last_transition", "uptime_seconds", "servers_down", "tls_expires_in_days"])
        if let node = status["node"] { rows.append(("node", text(node))) }
        if let role = status["role"] { rows.append(("role", text(role))) }
        switch (status["priority"], status["effective_priority"]) {
        case (let priority?, let effective?) where priority == effective:
            rows.append(("priority", text(priority)))
        case (let priority?, let effective?):
            rows.append(("priority", "\(text(priority)) (effective \(text(effective)))"))
        case (let priority?, nil): rows.append(("priority", text(priority)))
        case (nil, let effective?): rows.append(("priority", "effective \(text(effective))"))
        case (nil, nil): break
        }
        if let inSync = status["in_sync"] { rows.append(("in sync", text(inSync))) }
        if status["vips"] != nil || status["vips_held"] != nil {
            var vips = status["vips"].map { list($0) } ?? ""
            if let held = status["vips_held"]?.boolValue {
                vips += (vips.isEmpty ? "" : " ") + (held ? "(held here)" : "(not held here)")
            }
            rows.append(("vips", vips.isEmpty ? "none" : vips))
        }
        if let sync = status["sync"] { rows.append(("sync", syncText(sync))) }
        if let transition = status["last_transition"] { rows.append(("last transition", transitionText(transition))) }
        if let uptime = status["uptime_seconds"]?.doubleValue { rows.append(("uptime", duration(uptime))) }
        if let days = status["tls_expires_in_days"]?.doubleValue.map(Int.init) {
            rows.append(("tls certificate", days < 0 ? "expired \(-days) day(s) ago" : "expires in \(days) day(s)"))
        }
        for peer in status["peers"]?.arrayValue ?? [] {
            rows.append(("peer \(peer["name"].map(text) ?? "?")", peerText(peer)))
        }
        if let down = status["servers_down"]?.arrayValue {
            if down.isEmpty { rows.append(("servers down", "none")) }
            for server in down {
                let since = server["seconds"]?.doubleValue.map { " for \(duration($0))" } ?? ""
                rows.append(
                    (
                        "down \(server["server"].map(text) ?? "?")",
                        "of \(server["service"].map(text) ?? "?")\(since): \(server["reason"].map(text) ?? "?")"
                            + (server["check"].map { " (\(text($0)))" } ?? "")
                    )
                )
            }
        }
        for (key, value) in (status.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) where !seen.contains(key) {
            rows.append((key.replacingOccurrences(of: "_", with: " "), text(value)))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n")
    }

    private static func syncText(_ sync: JSONValue) -> String {
        guard let fields = sync.objectValue else { return text(sync) }
        var parts: [String] = []
        if let position = fields["position"] { parts.append("position \(text(position))") }
        if let size = fields["table_size"] { parts.append("\(text(size)) connections mirrored") }
        if let held = fields["kernel_connections"] { parts.append("\(text(held)) in the kernel") }
        if let lag = fields["lag_ms_p99"] { parts.append("lag p99 \(text(lag)) ms") }
        for (key, value) in fields.sorted(by: { $0.key < $1.key })
        where !["position", "table_size", "kernel_connections", "lag_ms_p99"].contains(key) {
            parts.append("\(key) \(text(value))")
        }
        return parts.joined(separator: ", ")
    }

    private static func transitionText(_ transition: JSONValue) -> String {
        guard let fields = transition.objectValue else { return text(transition) }
        var result = ""
        switch (fields["from"], fields["to"]) {
        case (let from?, let to?): result = "\(text(from)) -> \(text(to))"
        case (nil, let to?): result = "-> \(text(to))"
        case (let from?, nil): result = "from \(text(from))"
        case (nil, nil): break
        }
        if let ago = fields["seconds_ago"]?.doubleValue {
            result += (result.isEmpty ? "" : " ") + "\(duration(ago)) ago"
        }
        if let reason = fields["reason"] { result += (result.isEmpty ? "" : ": ") + text(reason) }
        for (key, value) in fields.sorted(by: { $0.key < $1.key })
        where !["from", "to", "seconds_ago", "reason"].contains(key) {
            result += (result.isEmpty ? "" : ", ") + "\(key) \(text(value))"
        }
        return result
    }

    private static func peerText(_ peer: JSONValue) -> String {
        guard let fields = peer.objectValue else { return text(peer) }
        var parts: [String] = []
        if let state = fields["state"] { parts.append(text(state)) }
        if let priority = fields["priority"] { parts.append("priority \(text(priority))") }
        if let inSync = fields["in_sync"]?.boolValue { parts.append(inSync ? "in sync" : "not in sync") }
        if let link = fields["link"] { parts.append("link \(text(link))") }
        if let heard = fields["last_heard_ms"] {
            parts.append("heard \(heard.doubleValue.map { "\(Int($0.rounded()))" } ?? text(heard)) ms ago")
        }
        if let ack = fields["ack_sequence"] { parts.append("acknowledged batch \(text(ack))") }
        if let size = fields["table_size"] { parts.append("\(text(size)) connections") }
        if let held = fields["kernel_connections"] { parts.append("\(text(held)) in its kernel") }
        let known: Set<String> = [
            "name", "state", "priority", "in_sync", "link", "last_heard_ms", "ack_sequence", "table_size",
            "kernel_connections",
        ]
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !known.contains(key) {
            parts.append("\(key) \(text(value))")
        }
        return parts.joined(separator: ", ")
    }

    /// A value as a person reads it: strings bare, booleans yes/no, lists comma-separated, the rest as JSON.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): string
        case .bool(let flag): flag ? "yes" : "no"
        case .array: list(value)
        default: value.jsonText
        }
    }

    private static func list(_ value: JSONValue) -> String {
        guard let items = value.arrayValue else { return text(value) }
        return items.map(text).joined(separator: ", ")
    }

    /// Seconds as `12.5s`, `4m10s`, `3h02m`, `2d04h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "\(seconds)s" }
        if seconds < 60 {
            let tenths = (seconds * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : "\(tenths)s"
        }
        let whole = Int(seconds)
        let (days, hours, minutes, secs) = (whole / 86_400, whole / 3600 % 24, whole / 60 % 60, whole % 60)
        if days > 0 { return "\(days)d" + two(hours) + "h" }
        if hours > 0 { return "\(hours)h" + two(minutes) + "m" }
        return "\(minutes)m" + two(secs) + "s"
    }

    private static func two(_ number: Int) -> String {
        number < 10 ? "0\(number)" : "\(number)"
    }
}
