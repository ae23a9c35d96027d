//! The guardrails' plain decisions: what a call costs, and when a caller over the limit may try
//! again.

use moha_edge::ai::Usage;
use moha_edge::{Env, Error};

/// US dollars per million tokens, as providers price them. The defaults are Claude Sonnet 4.5's
/// list prices, for the default model; set both variables when `INSIGHTS_MODEL` changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Pricing {
    pub const DEFAULT: Pricing = Pricing {
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
    };

    /// `INSIGHTS_USD_PER_MTOK_INPUT` and `_OUTPUT`, each defaulting to [`Pricing::DEFAULT`]. The
    /// names are literal so the check against `.env.example` sees them.
    pub fn from_env(env: &Env) -> Result<Pricing, Error> {
        Ok(Pricing {
            input_per_mtok: price(
                "INSIGHTS_USD_PER_MTOK_INPUT",
                env.var("INSIGHTS_USD_PER_MTOK_INPUT").ok(),
                Self::DEFAULT.input_per_mtok,
            )?,
            output_per_mtok: price(
                "INSIGHTS_USD_PER_MTOK_OUTPUT",
                env.var("INSIGHTS_USD_PER_MTOK_OUTPUT").ok(),
                Self::DEFAULT.output_per_mtok,
            )?,
        })
    }

    /// The cost of one call in US dollars, as a decimal with the six places of
    /// `agent_usage.cost`.
    pub fn cost_usd(&self, usage: Usage) -> String {
        let usd = (usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0;
        format!("{usd:.6}")
    }
}

/// A price from the environment: unset is the default, anything but a non-negative number an
/// error naming the variable.
fn price(name: &str, value: Option<&str>, default: f64) -> Result<f64, Error> {
    let Some(v) = value else {
        return Ok(default);
    };
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| {
            Error::Internal(format!(
                "{name} must be a non-negative number of US dollars per million tokens"
            ))
        })
}

/// The timestamp of `increment_agent_counter`'s PT429 hint (`try again after <timestamptz>`),
/// when it has one that looks like a timestamp; the database turns it into RFC 3339.
pub fn retry_after_hint(hint: Option<&str>) -> Option<&str> {
    let at = hint?.strip_prefix("try again after ")?.trim();
    let plausible = at.len() <= 40
        && at.starts_with(|c: char| c.is_ascii_digit())
        && at
            .chars()
            .all(|c| c.is_ascii_digit() || " -:.+T".contains(c));
    plausible.then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_follows_the_prices_per_million_tokens() {
        let usage = Usage {
            input_tokens: 120,
            output_tokens: 40,
        };
        // 120 × $3/M + 40 × $15/M = $0.00036 + $0.0006
        assert_eq!(Pricing::DEFAULT.cost_usd(usage), "0.000960");
        assert_eq!(Pricing::DEFAULT.cost_usd(Usage::default()), "0.000000");
        let env = Env::from_pairs([
            ("INSIGHTS_USD_PER_MTOK_INPUT", "0.8"),
            ("INSIGHTS_USD_PER_MTOK_OUTPUT", "4"),
        ]);
        let haiku = Pricing::from_env(&env).unwrap();
        assert_eq!(haiku.cost_usd(usage), "0.000256");
        assert_eq!(
            Pricing::from_env(&Env::default()).unwrap(),
            Pricing::DEFAULT
        );
    }

    #[test]
    fn bad_prices_are_configuration_errors_naming_the_variable() {
        for bad in ["-1", "cheap", "NaN", "inf"] {
            let env = Env::from_pairs([("INSIGHTS_USD_PER_MTOK_OUTPUT", bad)]);
            let e = Pricing::from_env(&env).unwrap_err();
            assert!(
                e.to_string().contains("INSIGHTS_USD_PER_MTOK_OUTPUT"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn retry_time_is_read_from_the_hint_only_when_it_is_a_timestamp() {
        assert_eq!(
            retry_after_hint(Some("try again after 2026-11-26 00:00:00+00")),
            Some("2026-11-26 00:00:00+00")
        );
        assert_eq!(retry_after_hint(None), None);
        assert_eq!(retry_after_hint(Some("ask an admin")), None);
        assert_eq!(
            retry_after_hint(Some("try again after now'); drop table x; --")),
            None
        );
    }
}
