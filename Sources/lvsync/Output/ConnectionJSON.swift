import Control
import SyncWire

extension SyncConnection {
    /// The JSON line `lvsync decode --json` prints for this entry (keys and formats: DESIGN.md, command-line
    /// contract).
    func decodeJSONLine(version: SyncProtocolVersion, syncID: UInt8) -> String {
        var json = JSONLine()
        json.add("version", Int(version.rawValue))
        json.add("syncid", Int(syncID))
        json.add("af", Int(family.rawValue))
        json.add("protocol", ipProtocol.name)
        json.add("client", client.description)
        json.add("virtual", virtual.description)
        json.add("destination", destination.description)
        json.add("flags", Int(flags.rawValue))
        json.add("template", isTemplate)
        json.add("state", stateName)
        json.add("timeout", timeout)
        json.add("fwmark", fwmark)
        json.add("pe_name", persistence.map(\.engine))
        json.add("pe_data", persistence.map { $0.dataText ?? String(decoding: $0.data, as: Unicode.ASCII.self) })
        return json.line
    }
}
