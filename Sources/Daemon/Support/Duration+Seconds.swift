extension Duration {
    /// The duration in seconds, as a `Double` (for figures, log lines and replies).
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
