/// `lvsync conns` as `ipvsadm -Lnc` prints the kernel's table: pro, expire (minutes:seconds), state, source,
/// virtual, destination, and the persistence engine's name and data when a connection has them.
public enum ConnectionTableText {
    /// The table of `conns` reply objects (fields missing from an object print as `-`).
    public static func render(_ connections: [JSONValue]) -> String {
        let withEngine = connections.contains { $0["pe_data"] != nil || $0["pe_name"] != nil }
        var lines = ["IPVS connection entries"]
        lines.append(
            withEngine
                ? "pro expire state       source             virtual            destination        pe name          pe_data"
                : "pro expire state       source             virtual            destination"
        )
        for connection in connections {
            let proto = (connection["protocol"]?.stringValue ?? "-").uppercased()
            var line =
                pad(proto, 3) + " " + expire(connection["expires_seconds"]) + "  "
                + pad(field(connection, "state"), 11) + " " + pad(field(connection, "client"), 18) + " "
                + pad(field(connection, "virtual"), 18) + " "
            let destination = field(connection, "destination")
            let engineName = connection["pe_name"]?.stringValue ?? ""
            let engineData = connection["pe_data"]?.stringValue ?? ""
            if engineName.isEmpty && engineData.isEmpty {
                line += destination
            } else {
                line += pad(destination, 16) + " " + pad(engineName, 18) + " " + engineData
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    private static func field(_ connection: JSONValue, _ key: String) -> String {
        guard let value = connection[key] else { return "-" }
        return value.stringValue ?? value.jsonText
    }

    /// Seconds as `mm:ss`.
    static func expire(_ value: JSONValue?) -> String {
        guard let seconds = value?.integerValue ?? value?.doubleValue.map({ Int64($0.rounded()) }), seconds >= 0
        else { return "--:--" }
        let minutes = seconds / 60
        let rest = seconds % 60
        return (minutes < 10 ? "0" : "") + "\(minutes):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
