import SyncWire
import Testing

@Suite("/proc connection tables")
struct ProcConnTableTests {
    static let procConn = """
        Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
        TCP C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED     899
        UDP 0A00000A 0000 0A000064 13C4 0A000016 13C4 NONE             59 sip call-1-a84b4c76e66710@client.example
        IP  0A00000A 0000 00000007 0000 0A000015 0000 NONE            299
        TCP fd00:0000:0000:0000:0000:0000:0000:0010 A028 fd00:0000:0000:0000:0000:0000:0000:0100 01BB fd00:0000:0000:0000:0000:0000:0000:0022 01BB ESTABLISHED     898

        """

    @Test("parses IPv4, IPv6, templates and persistence columns")
    func parsesProcConn() throws {
        let table = ProcConnTable(parsing: Self.procConn)
        #expect(table.problems.isEmpty)
        #expect(table.entries.count == 4)
        let tcp = table.entries[0]
        #expect(tcp.ipProtocol == .tcp)
        #expect(tcp.client.description == "192.0.2.10:40000")
        #expect(tcp.virtual.description == "198.51.100.1:80")
        #expect(tcp.destination.description == "10.0.0.11:80")
        #expect(tcp.stateName == "ESTABLISHED")
        #expect(tcp.expires == 899)
        #expect(!tcp.isTemplate)
        let sip = table.entries[1]
        #expect(sip.isTemplate)
        #expect(
            sip.persistence == PersistenceData(engine: "sip", data: Array("call-1-a84b4c76e66710@client.example".utf8))
        )
        let fwmark = table.entries[2]
        #expect(fwmark.ipProtocol == .ip)
        #expect(fwmark.virtual.description == "0.0.0.7:0")
        #expect(fwmark.isTemplate)
        #expect(table.entries[3].client.description == "[fd00::10]:41000")
    }

    @Test("parses the Origin column of ip_vs_conn_sync")
    func parsesProcConnSync() {
        let text = """
            Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
            TCP C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED SYNC       899
            UDP 0A00000A D000 0A000064 0035 0A000015 0035 UDP         LOCAL      299
            """
        let table = ProcConnTable(parsing: text)
        #expect(table.problems.isEmpty)
        #expect(table.entries.map(\.origin) == [.sync, .local])
        #expect(table.entries.map(\.expires) == [899, 299])
    }

    @Test("malformed lines are reported with their line numbers; good lines are kept")
    func malformedLines() {
        let text = """
            Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
            TCP C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED     899
            TCP C000020Z 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED     899
            XYZ C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED     899
            TCP C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED
            TCP C000020A 9C4 C6336401 0050 0A00000B 0050 ESTABLISHED     899
            TCP C000020A 9C40 C6336401 0050 0A00000B 0050 ESTABLISHED     soon
            """
        let table = ProcConnTable(parsing: text)
        #expect(table.entries.count == 1)
        #expect(table.problems.map(\.line) == [3, 4, 5, 6, 7])
        #expect(table.problems[0].description == "line 3: client address 'C000020Z' is not hex IPv4 or IPv6")
        #expect(table.problems[1].description == "line 4: unknown protocol 'XYZ'")
        #expect(table.problems[2].description == "line 5: expected at least 9 columns, found 8")
        #expect(table.problems[3].description == "line 6: client port '9C4' is not 4 hex digits")
        #expect(table.problems[4].description == "line 7: expires 'soon' is not a number of seconds")
    }
}
