/// `lvsync conns` as `ipvsadm -Lnc` prints the kernel's table: pro, expire (minutes:seconds), state, source,
/// virtual, destination, and the persistence engine's name and data when a connection has them.
public enum ConnectionTableText {
    /// The table of `conns` reply objects (fields missing from an object print as `-`).
    public static func render(_ connections: [JSONValue]) -> String {
        let withEngine = connections.contains(where: hasEngine)
        return ([title, header(withEngine: withEngine)] + connections.map(line)).joined(separator: "\n")
    }

    /// The table printed as the reply comes, one line per object, never holding the table: the first `lookahead`
    /// objects are held so the header knows whether the persistence engine's columns are wanted (a reply that ends
    /// within them prints exactly as ``render(_:)``); after them, a row with the engine's data prints its columns
    /// under the header chosen then.
    public struct Printer: Sendable {
        /// The objects held before the header is chosen.
        public let lookahead: Int
        private var held: [JSONValue] = []
        private var started = false
        /// The objects taken.
        public private(set) var count = 0

        /// A printer that holds at most `lookahead` objects.
        public init(lookahead: Int = 256) { self.lookahead = max(0, lookahead) }

        /// Takes the next object: the text to print now (lines without the last newline), or nil while held.
        public mutating func add(_ connection: JSONValue) -> String? {
            count += 1
            if started { return ConnectionTableText.line(connection) }
            held.append(connection)
            return held.count > lookahead ? release() : nil
        }

        /// The reply ended: what is left to print (the whole table when it was short).
        public mutating func finish() -> String? {
            started ? nil : release()
        }

        private mutating func release() -> String {
            started = true
            let text = ConnectionTableText.render(held)
            held = []
            return text
        }
    }

    static let title = "IPVS connection entries"

    static func hasEngine(_ connection: JSONValue) -> Bool {
        connection["pe_data"] != nil || connection["pe_name"] != nil
    }

    /// The column header, with the persistence engine's columns or without.
    static func header(withEngine: Bool) -> String {
        withEngine
            ? "pro expire state       source             virtual            destination        pe name          pe_data"
            : "pro expire state       source             virtual            destination"
    }

    /// One connection's row.
    static func line(_ connection: JSONValue) -> String {
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
        return line
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
