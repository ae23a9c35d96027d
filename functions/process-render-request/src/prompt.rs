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
}

pub fn start(status: &str) -> Start {
    match status {
        "succeeded" => Start::AlreadyDone,
        "processing" => Start::InProgress,
        "cancelled" => Start::Cancelled,
        // queued, pending, and failed (a retry).
        _ => Start::Run,
    }
}

/// What to do once the provider has failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// A cached answer for the same prompt and input exists: use it, marked as fallback.
    UseCached(String),
    /// Nothing to fall back on: the job goes back to the queue, never dropped.
    Requeue { retry_at_ms: u64 },
}

/// How long a re-queued job waits: doubles per failed run, from 1 minute up to 1 hour.
pub fn requeue_delay_ms(failed_runs: u32) -> u64 {
    (60_000u64 << failed_runs.min(6)).min(3_600_000)
}

pub fn fallback(cached: Option<String>, now_ms: u64, failed_runs: u32) -> Fallback {
    match cached {
        Some(path) => Fallback::UseCached(path),
        None => Fallback::Requeue {
            retry_at_ms: now_ms + requeue_delay_ms(failed_runs),
        },
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
    fn only_open_jobs_run_and_duplicates_are_answered() {
        assert_eq!(start("queued"), Start::Run);
        assert_eq!(start("failed"), Start::Run);
        assert_eq!(start("succeeded"), Start::AlreadyDone);
        assert_eq!(start("processing"), Start::InProgress);
        assert_eq!(start("cancelled"), Start::Cancelled);
    }

    #[test]
    fn provider_failure_uses_the_cache_or_requeues_with_growing_delay() {
        assert_eq!(
            fallback(Some("renders/u/r/out.png".into()), 0, 0),
            Fallback::UseCached("renders/u/r/out.png".into())
        );
        assert_eq!(
            fallback(None, 1_000, 0),
            Fallback::Requeue {
                retry_at_ms: 61_000
            }
        );
        assert_eq!(requeue_delay_ms(1), 120_000);
        assert_eq!(requeue_delay_ms(30), 3_600_000);
    }
}
