//! The rationale written with an assignment: a paragraph from the model when one may be asked,
//! else a deterministic one built from the same score factors, marked as fallback.
//!
//! The model sees only facts without personal data: the lead's source and status, its score and
//! the factors `update_lead_score` recorded, and the chosen Sales user's workload. Never the
//! client's name, email or phone, nor anyone's id.

use serde_json::Value;

/// A small fast model: one paragraph needs no more.
pub const DEFAULT_MODEL: &str = "claude-haiku-4-5";
/// Enough for one short paragraph in a JSON object.
pub const MAX_TOKENS: u32 = 300;
/// The caller waits for the rationale, so each attempt is kept short.
pub const TIMEOUT_MS: u64 = 10_000;
/// Longest rationale stored, in characters.
const MAX_CHARS: usize = 1_000;

pub const SYSTEM: &str = "You explain lead scores to the sales team of an interior-design \
studio. Use only the facts given; never invent personal details. Answer with a JSON object \
{\"rationale\": \"<one paragraph of at most 80 words>\"} and nothing else.";

/// One part of the rule score, as `update_lead_score` records it (`source referral: 30`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub label: String,
    pub points: i32,
}

/// The score's parts: parsed when the recorded text has the expected shape, else kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Factors {
    Parsed(Vec<Factor>),
    Text(String),
    Missing,
}

impl Factors {
    /// Reads `update_lead_score`'s rationale, `label: points; label: points; ...`.
    pub fn parse(recorded: Option<&str>) -> Factors {
        let Some(text) = recorded.map(str::trim).filter(|t| !t.is_empty()) else {
            return Factors::Missing;
        };
        let parsed: Option<Vec<Factor>> = text
            .split(';')
            .map(|part| {
                let (label, points) = part.trim().rsplit_once(':')?;
                Some(Factor {
                    label: label.trim().to_string(),
                    points: points.trim().parse().ok()?,
                })
            })
            .collect();
        match parsed {
            Some(f) if !f.is_empty() => Factors::Parsed(f),
            _ => Factors::Text(text.to_string()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Factors::Parsed(f) => f
                .iter()
                .map(|f| format!("{} {:+}", f.label, f.points))
                .collect::<Vec<_>>()
                .join(", "),
            Factors::Text(t) => t.clone(),
            Factors::Missing => "not recorded".into(),
        }
    }
}

/// What the rationale is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub source: String,
    pub status: String,
    pub score: Option<i64>,
    pub factors: Factors,
    /// Open leads of the chosen Sales user before this one, and how many Sales users there are.
    pub owner_open_leads: usize,
    pub sales_users: usize,
}

/// The user turn sent to the model: facts only, no personal data.
pub fn prompt(f: &Facts) -> String {
    format!(
        "Lead facts (personal data withheld):\n\
         - source: {}\n- status: {}\n- rule score: {} of 100\n- score factors: {}\n\
         - assigned to the Sales user with the lowest score-weighted open workload \
         ({} open leads) among {} Sales users\n\
         Explain to that Sales user why the lead scored as it did and how soon to follow up.",
        f.source,
        f.status,
        score_text(f.score),
        f.factors.describe(),
        f.owner_open_leads,
        f.sales_users,
    )
}

fn score_text(score: Option<i64>) -> String {
    score.map_or_else(|| "unknown".into(), |s| s.to_string())
}

/// Why the rationale is not the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackReason {
    /// No `ANTHROPIC_API_KEY`: the deployment runs without a model.
    NoModel,
    /// `increment_agent_counter('leads', ...)` refused the call.
    OverLimit,
    /// The provider failed after the retries.
    ModelUnavailable,
    /// The provider answered without a usable paragraph.
    UnusableAnswer,
    /// The model's paragraph could not be written (the database refused the note).
    AnswerNotStored,
}

impl FallbackReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::NoModel => "no model configured",
            FallbackReason::OverLimit => "over the leads agent's limit",
            FallbackReason::ModelUnavailable => "the model is unavailable",
            FallbackReason::UnusableAnswer => "the model's answer was unusable",
            FallbackReason::AnswerNotStored => "the model's answer could not be stored",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rationale {
    Model {
        model: String,
        text: String,
    },
    Fallback {
        reason: FallbackReason,
        text: String,
    },
}

impl Rationale {
    pub fn fallback(facts: &Facts, reason: FallbackReason) -> Rationale {
        Rationale::Fallback {
            reason,
            text: deterministic(facts),
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Rationale::Model { text, .. } | Rationale::Fallback { text, .. } => text,
        }
    }

    pub fn is_fallback(&self) -> bool {
        matches!(self, Rationale::Fallback { .. })
    }

    /// The note written with the assignment; a fallback says so and why.
    pub fn note(&self, score: Option<i64>) -> String {
        let head = format!("Assigned automatically (score {}).", score_text(score));
        match self {
            Rationale::Model { model, text } => format!("{head} Rationale ({model}): {text}"),
            Rationale::Fallback { reason, text } => format!(
                "{head} Rationale (fallback, rule-based; {}): {text}",
                reason.as_str()
            ),
        }
    }
}

/// The same facts the model would get, as a fixed sentence pattern.
pub fn deterministic(f: &Facts) -> String {
    format!(
        "Rule score {} from {}. Assigned to the Sales user with the lowest score-weighted open \
         workload ({} open leads, {} Sales users in all).",
        score_text(f.score),
        f.factors.describe(),
        f.owner_open_leads,
        f.sales_users,
    )
}

/// The paragraph in the model's answer: the `rationale` of a JSON object when it sent one, else
/// the text itself; whitespace collapsed to one paragraph, cut to a bounded length.
pub fn from_answer(text: &str) -> Option<String> {
    let json = text
        .find('{')
        .zip(text.rfind('}'))
        .and_then(|(a, b)| serde_json::from_str::<Value>(&text[a..=b]).ok());
    let raw = match &json {
        Some(v) => v.get("rationale").and_then(Value::as_str)?,
        None => text,
    };
    let paragraph = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if paragraph.is_empty() {
        return None;
    }
    Some(match paragraph.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &paragraph[..cut]),
        None => paragraph,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str =
        "source referral: 30; age 3 days: 20; recent notes: 5; latest AI score none: 0";

    fn facts(factors: Factors) -> Facts {
        Facts {
            source: "referral".into(),
            status: "new".into(),
            score: Some(55),
            factors,
            owner_open_leads: 2,
            sales_users: 3,
        }
    }

    #[test]
    fn recorded_factors_are_parsed_and_odd_ones_kept_as_text() {
        let Factors::Parsed(f) = Factors::parse(Some(RECORDED)) else {
            panic!("not parsed")
        };
        assert_eq!(f.len(), 4);
        assert_eq!(
            f[0],
            Factor {
                label: "source referral".into(),
                points: 30
            }
        );
        assert_eq!(f[3].label, "latest AI score none");
        assert_eq!(
            Factors::parse(Some("scored by hand")),
            Factors::Text("scored by hand".into())
        );
        assert_eq!(Factors::parse(Some("  ")), Factors::Missing);
        assert_eq!(Factors::parse(None), Factors::Missing);
    }

    #[test]
    fn the_prompt_carries_the_factors_and_no_personal_fields() {
        let p = prompt(&facts(Factors::parse(Some(RECORDED))));
        assert!(p.contains("source: referral"), "{p}");
        assert!(p.contains("rule score: 55 of 100"), "{p}");
        assert!(p.contains("source referral +30, age 3 days +20"), "{p}");
        assert!(p.contains("(2 open leads) among 3 Sales users"), "{p}");
        // Facts has no field for a name, email or phone; the prompt is built from Facts only.
        for word in ["@", "email", "phone", "name"] {
            assert!(!p.to_lowercase().contains(word), "{word} in {p}");
        }
    }

    #[test]
    fn the_fallback_is_deterministic_and_marked_in_the_note() {
        let f = facts(Factors::parse(Some(RECORDED)));
        let a = Rationale::fallback(&f, FallbackReason::OverLimit);
        assert_eq!(a, Rationale::fallback(&f, FallbackReason::OverLimit));
        assert!(a.is_fallback());
        assert_eq!(
            a.text(),
            "Rule score 55 from source referral +30, age 3 days +20, recent notes +5, latest AI \
             score none +0. Assigned to the Sales user with the lowest score-weighted open \
             workload (2 open leads, 3 Sales users in all)."
        );
        let note = a.note(Some(55));
        assert!(
            note.starts_with("Assigned automatically (score 55). Rationale (fallback, rule-based; over the leads agent's limit): Rule score 55"),
            "{note}"
        );
        // A model's paragraph the database refused is replaced, and the note says why.
        let unstored = Rationale::fallback(&f, FallbackReason::AnswerNotStored);
        assert_eq!(unstored.text(), a.text());
        assert!(
            unstored.note(Some(55)).contains(
                "Rationale (fallback, rule-based; the model's answer could not be stored): Rule"
            ),
            "{}",
            unstored.note(Some(55))
        );
        let unknown = Rationale::fallback(&facts(Factors::Missing), FallbackReason::NoModel);
        assert!(
            unknown.text().contains("from not recorded"),
            "{}",
            unknown.text()
        );
        let model = Rationale::Model {
            model: "claude-haiku-4-5".into(),
            text: "Hot referral.".into(),
        };
        assert!(!model.is_fallback());
        assert_eq!(
            model.note(None),
            "Assigned automatically (score unknown). Rationale (claude-haiku-4-5): Hot referral."
        );
    }

    #[test]
    fn answers_are_read_as_json_or_text_and_bounded() {
        assert_eq!(
            from_answer("{\"score\": 80, \"rationale\": \"Referred client.\"}").as_deref(),
            Some("Referred client.")
        );
        assert_eq!(
            from_answer("Here you go:\n{\"rationale\": \"A  warm\\n lead.\"}").as_deref(),
            Some("A warm lead.")
        );
        assert_eq!(
            from_answer("  Plain\n\nparagraph. ").as_deref(),
            Some("Plain paragraph.")
        );
        assert_eq!(from_answer("{\"rationale\": \"  \"}"), None);
        assert_eq!(from_answer("{\"other\": 1}"), None);
        assert_eq!(from_answer(""), None);
        let long = from_answer(&"é".repeat(3_000)).unwrap();
        assert_eq!(long.chars().count(), MAX_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
