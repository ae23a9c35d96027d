//! The guardrails' plain decisions: what a call costs, and when a caller over the limit may try
//! again.

use moha_edge::ai::Pricing;
use moha_edge::{Env, Error};

/// The prices of the insights model: `INSIGHTS_USD_PER_MTOK_INPUT` and `_OUTPUT`, each
/// defaulting to Claude Sonnet 4.5's list price (the default model); set both when
/// `INSIGHTS_MODEL` changes. The names are literal so the check against `.env.example` sees them.
pub fn pricing(env: &Env) -> Result<Pricing, Error> {
    let default = Pricing::CLAUDE_SONNET_4_5;
    Ok(Pricing {
        input_per_mtok: Pricing::price(
            "INSIGHTS_USD_PER_MTOK_INPUT",
            env.var("INSIGHTS_USD_PER_MTOK_INPUT").ok(),
            default.input_per_mtok,
        )?,
        output_per_mtok: Pricing::price(
            "INSIGHTS_USD_PER_MTOK_OUTPUT",
            env.var("INSIGHTS_USD_PER_MTOK_OUTPUT").ok(),
            default.output_per_mtok,
        )?,
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
    use moha_edge::ai::Usage;

    #[test]
    fn cost_follows_the_prices_per_million_tokens() {
        let usage = Usage {
            input_tokens: 120,
            output_tokens: 40,
        };
        // 120 × $3/M + 40 × $15/M = $0.00036 + $0.0006
        let sonnet = Pricing::CLAUDE_SONNET_4_5;
        assert_eq!(sonnet.cost_usd(usage), "0.000960");
        assert_eq!(sonnet.cost_usd(Usage::default()), "0.000000");
        let env = Env::from_pairs([
            ("INSIGHTS_USD_PER_MTOK_INPUT", "0.8"),
            ("INSIGHTS_USD_PER_MTOK_OUTPUT", "4"),
        ]);
        let haiku = pricing(&env).unwrap();
        assert_eq!(haiku.cost_usd(usage), "0.000256");
        assert_eq!(pricing(&Env::default()).unwrap(), sonnet);
    }

    #[test]
    fn bad_prices_are_configuration_errors_naming_the_variable() {
        for bad in ["-1", "cheap", "NaN", "inf"] {
            let env = Env::from_pairs([("INSIGHTS_USD_PER_MTOK_OUTPUT", bad)]);
            let e = pricing(&env).unwrap_err();
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
