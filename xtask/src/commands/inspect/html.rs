//! `cargo xtask inspect --html FILE`: the reports and charts of the history the database keeps,
//! as one self-contained page (inline CSS and SVG; no script, font or image from anywhere), and
//! its check in headless Chromium (`xtask/js/inspect-page.mjs`, driven like the schema diagram).
//!
//! The history: AI calls and spend per day by agent (`agent_usage`, counted as the ai-usage
//! report counts), renders per day by outcome (`render_requests` finished that day; a success
//! served from the cache is a fallback) and leads per day by source, over the last 30 days (UTC).
//! Live series such as queue depth belong to Prometheus.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{show, Kind, Report};
use crate::infra::{db, paths, prereq};

/// Days shown, today (UTC) last.
pub const DAYS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Usd,
}

/// A stacked bar chart: one bar per day, one segment per series.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    /// `YYYY-MM-DD`, oldest first.
    pub days: Vec<String>,
    /// (series name, one value per day)
    pub series: Vec<(String, Vec<f64>)>,
}

impl Chart {
    /// How many bar segments the page draws: one per day and series with a value.
    pub fn segments(&self) -> usize {
        self.series
            .iter()
            .map(|(_, v)| v.iter().filter(|x| **x > 0.0).count())
            .sum()
    }
}

/// The charts of the last [`DAYS`] days, read in one read-only transaction.
pub fn history(url: &str) -> Result<Vec<Chart>> {
    let mut client = db::connect(url)?;
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "set transaction read only; set local statement_timeout = '60s'; set local timezone = 'UTC'",
    )?;
    let days: Vec<String> = tx
        .query(
            "select to_char(d, 'YYYY-MM-DD') from generate_series(
               date_trunc('day', now(), 'UTC') - ($1::int - 1) * interval '1 day',
               date_trunc('day', now(), 'UTC'), interval '1 day') d order by d",
            &[&(DAYS as i32)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let since = "date_trunc('day', now(), 'UTC') - interval '29 days'";
    let mut read = |sql: String| -> Result<Vec<(String, String, f64, f64)>> {
        Ok(tx
            .query(&sql, &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    };
    // As the ai-usage report counts: the global limit's windows, else the per-user rows.
    let ai = read(format!(
        "select to_char(date_trunc('day', u.window_start, 'UTC'), 'YYYY-MM-DD'), u.agent,
                sum(u.request_count)::float8, sum(u.cost)::float8
           from public.agent_usage u
          where u.window_start >= {since} and u.project_id is null
            and (u.user_id is null
                 or not exists (select 1 from public.agent_limits g where g.agent = u.agent and g.scope = 'global'))
          group by 1, 2"
    ))?;
    let renders = read(format!(
        "select to_char(date_trunc('day', r.completed_at, 'UTC'), 'YYYY-MM-DD'),
                case when r.status = 'succeeded' and exists (
                       select 1 from public.render_results x where x.request_id = r.id and x.is_fallback)
                     then 'fallback' else r.status::text end,
                count(*)::float8, 0::float8
           from public.render_requests r
          where r.completed_at >= {since}
          group by 1, 2"
    ))?;
    let leads = read(format!(
        "select to_char(date_trunc('day', l.created_at, 'UTC'), 'YYYY-MM-DD'), l.source::text,
                count(*)::float8, 0::float8
           from public.leads l where l.created_at >= {since}
          group by 1, 2"
    ))?;
    tx.rollback()?;
    let chart = |id,
                 title,
                 unit,
                 rows: &[(String, String, f64, f64)],
                 pick: fn(&(String, String, f64, f64)) -> f64| {
        let mut by_series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for row in rows {
            if let Some(i) = days.iter().position(|d| *d == row.0) {
                by_series
                    .entry(row.1.clone())
                    .or_insert_with(|| vec![0.0; days.len()])[i] += pick(row);
            }
        }
        Chart {
            id,
            title,
            unit,
            days: days.clone(),
            series: by_series.into_iter().collect(),
        }
    };
    Ok(vec![
        chart(
            "ai-calls",
            "AI calls per day by agent",
            Unit::Count,
            &ai,
            |r| r.2,
        ),
        chart(
            "ai-spend",
            "AI spend per day by agent (USD)",
            Unit::Usd,
            &ai,
            |r| r.3,
        ),
        chart(
            "renders",
            "Renders per day by outcome",
            Unit::Count,
            &renders,
            |r| r.2,
        ),
        chart(
            "leads",
            "Leads per day by source",
            Unit::Count,
            &leads,
            |r| r.2,
        ),
    ])
}

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const COLORS: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// The smallest of 1, 2 or 5 times a power of ten that is at least `v`.
fn nice_step(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The y scale of a largest bar `v`: a round step and how many of them reach `v` (at most 5),
/// so every tick reads as a round number.
fn scale(v: f64) -> (f64, usize) {
    let step = nice_step(v / 5.0);
    let ticks = ((v / step - 1e-9).ceil() as usize).max(1);
    (step, ticks)
}

fn amount(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Usd => format!("${v:.2}"),
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.1}"),
    }
}

/// One chart as inline SVG: stacked bars, y grid with its scale, a date every 5 days, a legend,
/// and a tooltip (`<title>`) on every segment.
pub fn svg(chart: &Chart) -> String {
    const W: f64 = 760.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let totals: Vec<f64> = (0..chart.days.len())
        .map(|i| chart.series.iter().map(|(_, v)| v[i]).sum())
        .collect();
    let (step, ticks) = scale(totals.iter().cloned().fold(0.0, f64::max));
    let max = step * ticks as f64;
    let slot = pw / chart.days.len().max(1) as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}\">",
        esc(chart.title)
    );
    for t in 0..=ticks {
        let v = step * t as f64;
        let y = TOP + ph - ph * t as f64 / ticks as f64;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&amount(chart.unit, v))
        );
    }
    for (i, day) in chart.days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        if i % 5 == 0 || i + 1 == chart.days.len() {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                H - 8.0,
                esc(day.get(5..).unwrap_or(day))
            );
        }
        let mut base = TOP + ph;
        for (k, (name, values)) in chart.series.iter().enumerate() {
            let v = values[i];
            if v <= 0.0 {
                continue;
            }
            let h = (v / max * ph).max(1.0);
            base -= h;
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{base:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\" data-series=\"{}\" data-day=\"{}\"><title>{} · {}: {}</title></rect>",
                x + slot * 0.1,
                slot * 0.8,
                COLORS[k % COLORS.len()],
                esc(name),
                esc(day),
                esc(day),
                esc(name),
                esc(&amount(chart.unit, v))
            );
        }
    }
    if chart.segments() == 0 {
        let _ = write!(
            s,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">nothing in the last {DAYS} days</text>",
            LEFT + pw / 2.0,
            TOP + ph / 2.0
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        W - RIGHT,
        TOP + ph,
        TOP + ph
    );
    s
}

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d2430; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #d8dde6; padding-bottom: .2rem; }
.meta { color: #5b6574; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e6e9ef; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #5b6574; margin: .2rem 0; }
figure.chart { margin: 1rem 0 2rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0; margin: .3rem 0 0; }
.legend .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
svg .grid { stroke: #e6e9ef; } svg .axis { stroke: #8a94a3; }
svg .tick, svg .empty { font-size: 11px; fill: #5b6574; }
";

/// The page: a header naming the database (never its password), the charts, then the reports.
pub fn page(reports: &[Report], charts: &[Chart], database: &str) -> String {
    let mut h = String::from("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        h,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Moha Interiors backend report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>Moha Interiors: what the backend is doing</h1><p class=\"meta\">{} · database {} · cargo xtask inspect</p>",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        esc(database)
    );
    let _ = write!(h, "<h2>History, last {DAYS} days (UTC)</h2>");
    for c in charts {
        let _ = write!(
            h,
            "<figure class=\"chart\" id=\"chart-{}\" data-segments=\"{}\"><figcaption>{}</figcaption>{}<ul class=\"legend\">",
            c.id,
            c.segments(),
            esc(c.title),
            svg(c)
        );
        for (k, (name, _)) in c.series.iter().enumerate() {
            let _ = write!(
                h,
                "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                COLORS[k % COLORS.len()],
                esc(name)
            );
        }
        h.push_str("</ul></figure>");
    }
    for r in reports {
        let _ = write!(
            h,
            "<section class=\"report\" id=\"report-{}\"><h2>{}</h2>",
            r.name,
            esc(r.title)
        );
        if !r.rows.is_empty() {
            h.push_str("<table><thead><tr>");
            for c in &r.columns {
                let _ = write!(h, "<th>{}</th>", esc(c.title));
            }
            h.push_str("</tr></thead><tbody>");
            for row in &r.rows {
                h.push_str("<tr>");
                for (c, v) in r.columns.iter().zip(row) {
                    let class = if matches!(
                        c.kind,
                        Kind::Count | Kind::Seconds | Kind::Usd | Kind::Ratio
                    ) {
                        " class=\"num\""
                    } else {
                        ""
                    };
                    let _ = write!(h, "<td{class}>{}</td>", esc(&show(c.kind, v)));
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table>");
        }
        for n in &r.notes {
            let _ = write!(h, "<p class=\"note\">{}</p>", esc(n));
        }
        h.push_str("</section>");
    }
    h.push_str("</body></html>\n");
    h
}

/// What headless Chromium saw on the page.
#[derive(Debug, Deserialize)]
pub struct PageCheck {
    /// Console errors and page errors.
    pub errors: Vec<String>,
    /// Every URL the page asked for besides itself (a self-contained page asks for none).
    pub requests: Vec<String>,
    pub charts: Vec<ChartCheck>,
    pub tables: usize,
}

#[derive(Debug, Deserialize)]
pub struct ChartCheck {
    pub id: String,
    /// The drawn SVG's size on screen.
    pub width: f64,
    pub height: f64,
    /// Bar segments with a visible size.
    pub bars: usize,
    /// The segments the page says it drew.
    pub expected: usize,
    pub legend: Vec<String>,
}

/// Opens `file` in Debian's Chromium, headless, and reports what rendered.
pub fn check(file: &Path) -> Result<PageCheck> {
    prereq::ensure_node_modules()?;
    prereq::ensure_chromium()?;
    let file = file
        .canonicalize()
        .with_context(|| format!("cannot find {}", file.display()))?;
    let script = paths::project_root().join("xtask/js/inspect-page.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&file)
        .env("MOHA_CHROMIUM", prereq::chromium_path())
        .current_dir(paths::project_root())
        .stdin(Stdio::null())
        .output()
        .context("cannot run node; install Node.js 18+ (apt-get install -y nodejs npm)")?;
    if !out.status.success() {
        bail!(
            "the page does not load in Chromium ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    serde_json::from_slice(&out.stdout)
        .context("the page checker printed something other than its JSON report")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(series: Vec<(&str, Vec<f64>)>) -> Chart {
        Chart {
            id: "t",
            title: "T <&>",
            unit: Unit::Count,
            days: (1..=3).map(|d| format!("2026-11-0{d}")).collect(),
            series: series
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        }
    }

    #[test]
    fn scales_step_by_round_numbers() {
        assert_eq!(scale(0.0), (1.0, 1));
        assert_eq!(scale(5.0), (1.0, 5));
        assert_eq!(scale(3.0), (1.0, 3));
        assert_eq!(scale(15.0), (5.0, 3));
        assert_eq!(scale(0.5), (0.1, 5));
        assert_eq!(scale(1234.0), (500.0, 3));
    }

    #[test]
    fn one_segment_per_day_and_series_with_a_value_and_text_is_escaped() {
        let c = chart(vec![
            ("a<b", vec![1.0, 0.0, 2.0]),
            ("c", vec![0.0, 0.0, 3.0]),
        ]);
        assert_eq!(c.segments(), 3);
        let s = svg(&c);
        assert_eq!(s.matches("<rect class=\"bar\"").count(), 3);
        assert!(s.contains("data-series=\"a&lt;b\""), "{s}");
        assert!(!s.contains("a<b"));
        assert!(s.contains("aria-label=\"T &lt;&amp;&gt;\""));
        let empty = svg(&chart(vec![]));
        assert!(empty.contains("nothing in the last 30 days"));
        assert!(!empty.contains("class=\"bar\""));
    }

    #[test]
    fn the_page_asks_for_nothing_outside_itself() {
        let p = page(
            &[],
            &[chart(vec![("a", vec![1.0, 2.0, 3.0])])],
            "127.0.0.1:54322/postgres",
        );
        for outside in ["<script", "<link", "<img", "src=", "@import", "url("] {
            assert!(!p.contains(outside), "{outside}");
        }
        assert!(p.contains("id=\"chart-t\" data-segments=\"3\""));
    }
}
