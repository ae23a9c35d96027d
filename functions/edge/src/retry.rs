//! Bounded retries with exponential backoff and full jitter, for calls to AI providers and
//! social APIs. Time and randomness are injected, so the schedule is tested exactly.

use std::future::Future;

use crate::http::Clock;

/// A source of randomness for jitter.
pub trait Rng {
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: small, fast and good enough to decorrelate retries of concurrent callers.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Whether a failure may succeed when tried again, and how soon the server asked us to wait.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
    /// A server's `Retry-After`, in milliseconds.
    fn retry_after_ms(&self) -> Option<u64> {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 250,
            max_delay_ms: 4_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    RetryAfter(u64),
    GiveUp,
}

impl RetryPolicy {
    /// What to do after failed attempt number `attempt` (1-based).
    pub fn decide(&self, attempt: u32, err: &impl Retryable, rng: &mut impl Rng) -> Decision {
        if !err.is_retryable() || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        // Full jitter: uniform in [0, min(max, base * 2^(attempt-1))].
        let ceiling = self
            .base_delay_ms
            .saturating_mul(1u64 << (attempt - 1).min(32))
            .min(self.max_delay_ms);
        let jittered = rng.next_u64() % (ceiling + 1);
        match err.retry_after_ms() {
            // A server that asks for longer than we are willing to wait: fall back now.
            Some(asked) if asked > self.max_delay_ms => Decision::GiveUp,
            Some(asked) => Decision::RetryAfter(asked.max(jittered)),
            None => Decision::RetryAfter(jittered),
        }
    }

    /// Runs `op` until it succeeds, fails for good, or attempts run out. Returns the last
    /// error and the number of attempts made.
    pub async fn run<T, E, F, Fut>(
        &self,
        clock: &impl Clock,
        rng: &mut impl Rng,
        mut op: F,
    ) -> Result<T, (E, u32)>
    where
        E: Retryable,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match op(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.decide(attempt, &e, rng) {
                    Decision::GiveUp => return Err((e, attempt)),
                    Decision::RetryAfter(ms) => {
                        clock.sleep(ms).await;
                        attempt += 1;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Debug)]
    struct Fail {
        retryable: bool,
        after: Option<u64>,
    }

    impl Retryable for Fail {
        fn is_retryable(&self) -> bool {
            self.retryable
        }
        fn retry_after_ms(&self) -> Option<u64> {
            self.after
        }
    }

    /// Always returns the largest value, so the jitter ceiling is visible.
    struct Max;
    impl Rng for Max {
        fn next_u64(&mut self) -> u64 {
            u64::MAX
        }
    }

    struct Sleeps(RefCell<Vec<u64>>);
    impl Clock for Sleeps {
        fn now_ms(&self) -> u64 {
            0
        }
        async fn sleep(&self, ms: u64) {
            self.0.borrow_mut().push(ms);
        }
    }

    const RETRY: Fail = Fail {
        retryable: true,
        after: None,
    };

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_and_stop_after_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 6,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        let ceilings = [100, 200, 400, 800, 1_000];
        for (i, ceiling) in ceilings.iter().enumerate() {
            match p.decide(i as u32 + 1, &RETRY, &mut SplitMix64::new(i as u64)) {
                Decision::RetryAfter(ms) => assert!(ms <= *ceiling, "attempt {}: {ms}", i + 1),
                Decision::GiveUp => panic!("gave up early"),
            }
        }
        assert_eq!(p.decide(6, &RETRY, &mut Max), Decision::GiveUp);
    }

    #[test]
    fn non_retryable_errors_give_up_at_once() {
        let p = RetryPolicy::default();
        let fatal = Fail {
            retryable: false,
            after: None,
        };
        assert_eq!(p.decide(1, &fatal, &mut Max), Decision::GiveUp);
    }

    #[test]
    fn retry_after_is_honoured_unless_too_long() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 10,
            max_delay_ms: 2_000,
        };
        let asked = Fail {
            retryable: true,
            after: Some(1_500),
        };
        assert_eq!(p.decide(1, &asked, &mut Max), Decision::RetryAfter(1_500));
        let too_long = Fail {
            retryable: true,
            after: Some(60_000),
        };
        assert_eq!(p.decide(1, &too_long, &mut Max), Decision::GiveUp);
    }

    #[test]
    fn jitter_spreads_delays() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay_ms: 1_000,
            max_delay_ms: 8_000,
        };
        let mut rng = SplitMix64::new(42);
        let delays: std::collections::BTreeSet<_> =
            (0..20).map(|_| p.decide(3, &RETRY, &mut rng)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn run_retries_then_succeeds_sleeping_between_attempts() {
        let clock = Sleeps(RefCell::new(vec![]));
        let p = RetryPolicy::default();
        let out =
            pollster::block_on(
                p.run(&clock, &mut SplitMix64::new(1), |attempt| async move {
                    if attempt < 3 {
                        Err(RETRY)
                    } else {
                        Ok(attempt)
                    }
                }),
            );
        assert_eq!(out.unwrap(), 3);
        assert_eq!(clock.0.borrow().len(), 2);
        let out: Result<(), _> =
            pollster::block_on(p.run(&clock, &mut SplitMix64::new(1), |_| async { Err(RETRY) }));
        assert_eq!(out.unwrap_err().1, 3);
    }
}
