import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import Mirror
import NIOCore
import PeerProtocol
import PeerTransport
import SyncWire

/// Waits until `condition` holds, checking every 20 ms; gives up (returning false) after `limit`. The limit is a
/// safety net against a hung test, not a performance assertion.
func eventually(limit: Duration = .seconds(120), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

let quietLogger: Logger = {
    var logger = Logger(label: "lvsync-test")
    logger.logLevel = ProcessInfo.processInfo.environment["LVSYNC_TEST_LOG"] != nil ? .debug : .critical
    return logger
}()
