/// Exponential retry backoff, as Celery's `retry_backoff` computes it
/// (`celery.utils.time.get_exponential_backoff_interval`): the delay before
/// retry `n` (n = retries so far, 0 for the first) is
///
///     min(maximum, factor × 2ⁿ)
///
/// and, with full jitter, a uniformly random value between 0 and that, so
/// that many tasks failing together do not all come back at once. Celery
/// rounds to whole seconds; this keeps fractions (a factor of 0.1 s works).
public struct RetryBackoff: Sendable, Equatable {
    /// Seconds for the first retry (Celery's `retry_backoff=True` is 1).
    public var factor: Double
    /// The cap, seconds (Celery's `retry_backoff_max`, default 600).
    public var maximum: Double
    /// Full jitter (Celery's `retry_jitter`, default true).
    public var jitter: Bool

    public static let defaultMaximum = 600.0

    public init(factor: Double, maximum: Double = RetryBackoff.defaultMaximum, jitter: Bool = true) {
        self.factor = factor
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before the retry that follows `retries` earlier ones.
    /// - Parameter random: a value in [0, 1) (injectable for tests); used
    ///   only with jitter.
    /// - Returns: seconds in [0, maximum]; never NaN or infinite.
    public func countdown(retries: Int64, random: Double) -> Double {
        // 2^n overflows a Double past n ≈ 1023; the cap is reached long before.
        let n = Double(min(max(retries, 0), 1000))
        let exponential = min(maximum, factor * Double.pow2(n))
        let bounded = exponential.isFinite ? max(0, exponential) : maximum
        guard jitter else { return bounded }
        return bounded * min(max(random, 0), 1)
    }

    /// `countdown(retries:random:)` with the system's random numbers.
    public func countdown(retries: Int64) -> Double {
        countdown(retries: retries, random: Double.random(in: 0..<1))
    }
}

extension Double {
    static func pow2(_ n: Double) -> Double {
        Double(sign: .plus, exponent: Int(n), significand: 1)
    }
}
