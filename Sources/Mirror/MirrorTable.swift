import SyncWire
