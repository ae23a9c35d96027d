//! What the job does, as plain decisions: the prompt from the parameters and a template, whether
//! a job may start, and what happens when the provider fails.

use moha_edge::rows::RenderParametersRow;

/// The fallback template when `prompt_templates` has none (the plan's "default prompt
/// templates").
pub const DEFAULT_TEMPLATE: &str = "Photorealistic interior render of the room in the image. \
Style: {{style}}. Furnishings: {{furnishings}}. Lighting: {{lighting}}. Walls: {{walls}}. \
Flooring: {{flooring}}. Exterior: {{exterior}}. Keep the room's geometry and camera position.";

pub const TEMPLATE_NAME: &str = "render.default";

/// The longest value a parameter may contribute to a prompt.
const MAX_VALUE_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptError {
    UnknownPlaceholder(String),
    Unclosed,
}

impl std::fmt::Display for PromptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PromptError::UnknownPlaceholder(p) => {
                write!(f, "template has unknown placeholder {{{{{p}}}}}")
            }
            PromptError::Unclosed => f.write_str("template has an unclosed placeholder"),
        }
    }
}

/// A user-supplied value made safe for a prompt: one line, bounded, and unable to open a
/// placeholder of its own.
fn clean(value: Option<&str>) -> String {
    let v: String = value
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['{', '}'], "");
    let v: String = v.chars().take(MAX_VALUE_CHARS).collect();
    if v.is_empty() {
        "designer's choice".into()
    } else {
        v
    }
}

/// Fills `{{name}}` placeholders of `template` from `p` (none: every value is the designer's
/// choice).
pub fn build_prompt(
    template: &str,
    p: Option<&RenderParametersRow>,
) -> Result<String, PromptError> {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(PromptError::Unclosed)?;
        let value = match after[..end].trim() {
            "style" => p.and_then(|p| p.style.as_deref()),
            "furnishings" => p.and_then(|p| p.furnishings.as_deref()),
            "lighting" => p.and_then(|p| p.lighting.as_deref()),
            "walls" => p.and_then(|p| p.walls.as_deref()),
            "flooring" => p.and_then(|p| p.flooring.as_deref()),
            "exterior" => p.and_then(|p| p.exterior.as_deref()),
            other => return Err(PromptError::UnknownPlaceholder(other.to_string())),
        };
        out.push_str(&clean(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs a job may make, each one a charged model call, before it ends `failed`: a failure
/// that repeats after the call (an answer without an image, a write that keeps failing) must
/// not become an endless loop of paid calls.
pub const MAX_ATTEMPTS: u32 = 5;

/// What a call does with a job in a given status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Claim it and render.
    Run,
    /// Already rendered: answer with the stored result (duplicate calls are harmless).
    AlreadyDone,
    /// Another call is rendering it now.
    InProgress,
    /// Cancelled jobs stay cancelled.
    Cancelled,
    /// Out of runs: failed for good.
    Exhausted,
}

/// `attempts`: the runs the job has made so far.
pub fn start(status: &str, attempts: i64) -> Start {
    match status {
        "succeeded" => Start::AlreadyDone,
        "processing" => Start::InProgress,
        "cancelled" => Start::Cancelled,
        _ if attempts >= i64::from(MAX_ATTEMPTS) => Start::Exhausted,
        // queued, pending, and failed (the owner was not eligible, or an Admin re-opened it).
        _ => Start::Run,
    }
}

/// What happens to a job whose run, already charged, ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterFailure {
    /// Back to the queue until `retry_at_ms`.
    Requeue { retry_at_ms: u64 },
    /// Its last run: failed for good.
    Fail,
}

/// How long a re-queued job waits: doubles per failed run, from 1 minute up to 1 hour.
pub fn requeue_delay_ms(failed_runs: u32) -> u64 {
    (60_000u64 << failed_runs.min(6)).min(3_600_000)
}

/// `runs`: the runs made, this one included.
pub fn after_failure(runs: u32, now_ms: u64) -> AfterFailure {
    if runs >= MAX_ATTEMPTS {
        AfterFailure::Fail
    } else {
        AfterFailure::Requeue {
            retry_at_ms: now_ms + requeue_delay_ms(runs.saturating_sub(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RenderParametersRow {
        RenderParametersRow {
            id: "9a000000-0000-4000-a000-000000000001".into(),
            request_id: "9b000000-0000-4000-a000-000000000001".into(),
            style: Some("Japandi".into()),
            furnishings: Some("low oak  sofa,\n linen".into()),
            lighting: Some("warm {{style}} evening".into()),
            walls: None,
            flooring: Some(String::new()),
            exterior: Some("garden".into()),
            extra: serde_json::json!({}),
        }
    }

    #[test]
    fn prompt_fills_every_placeholder_and_cleans_values() {
        let p = build_prompt(DEFAULT_TEMPLATE, Some(&params())).unwrap();
        assert_eq!(
            p,
            "Photorealistic interior render of the room in the image. Style: Japandi. \
             Furnishings: low oak sofa, linen. Lighting: warm style evening. Walls: designer's \
             choice. Flooring: designer's choice. Exterior: garden. Keep the room's geometry and \
             camera position."
        );
    }

    #[test]
    fn values_are_bounded_and_templates_checked() {
        let long = RenderParametersRow {
            style: Some("x".repeat(5_000)),
            ..params()
        };
        assert_eq!(
            build_prompt("{{ style }}", Some(&long)).unwrap().len(),
            MAX_VALUE_CHARS
        );
        assert_eq!(
            build_prompt("{{budget}}", Some(&long)),
            Err(PromptError::UnknownPlaceholder("budget".into()))
        );
        assert_eq!(
            build_prompt("{{budget}}", None),
            Err(PromptError::UnknownPlaceholder("budget".into()))
        );
        assert_eq!(
            build_prompt("{{style", Some(&long)),
            Err(PromptError::Unclosed)
        );
    }

    #[test]
    fn only_open_jobs_with_runs_left_run_and_duplicates_are_answered() {
        assert_eq!(start("queued", 0), Start::Run);
        assert_eq!(start("failed", 0), Start::Run);
        assert_eq!(start("queued", 4), Start::Run);
        assert_eq!(start("queued", 5), Start::Exhausted);
        assert_eq!(start("failed", 5), Start::Exhausted);
        assert_eq!(start("succeeded", 5), Start::AlreadyDone);
        assert_eq!(start("processing", 0), Start::InProgress);
        assert_eq!(start("cancelled", 0), Start::Cancelled);
    }

    #[test]
    fn a_failed_run_requeues_with_growing_delay_until_the_last() {
        assert_eq!(
            after_failure(1, 1_000),
            AfterFailure::Requeue {
                retry_at_ms: 61_000
            }
        );
        assert_eq!(
            after_failure(2, 0),
            AfterFailure::Requeue {
                retry_at_ms: 120_000
            }
        );
        assert_eq!(after_failure(MAX_ATTEMPTS, 0), AfterFailure::Fail);
        assert_eq!(requeue_delay_ms(30), 3_600_000);
    }
}
