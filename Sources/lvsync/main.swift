import SyncWire
@main struct M { static func main() {} }
