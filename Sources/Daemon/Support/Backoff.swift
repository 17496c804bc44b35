/// Reconnection delays: exponential from `initial` to `maximum`, each with full jitter in its upper half, so that
/// directors that lost a peer together do not retry in step.
public struct Backoff: Sendable {
    /// The first delay.
    public var initial: Duration
    /// The largest delay.
    public var maximum: Duration
    private var attempt = 0

    /// Creates a backoff.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next delay.
    public mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let base = min(initial * (1 << min(attempt, 20)), maximum)
        attempt += 1
        let half = base / 2
        let jitter = Double.random(in: 0...1, using: &random)
        return half + half * jitter
    }

    /// The next delay, with the system's random numbers.
    public mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    /// Starts over (after a link that stayed up).
    public mutating func reset() { attempt = 0 }
}
