//! The trends page's charts, drawn on the server by plotters as SVG. Colours come from the
//! Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), and
//! every series also has its own marker shape, so no chart depends on colour alone. The
//! SVG scales to its container's width and carries a title for screen readers; the data
//! behind each chart is also offered as CSV.

use coastguard_model::trends::{Chart, Remediation, Trends};
use coastguard_model::Severity;
use plotters::prelude::*;
use std::fmt::Write as _;

const WIDTH: u32 = 880;
const HEIGHT: u32 = 320;

fn colour(s: Severity) -> RGBColor {
    match s {
        Severity::Critical => RGBColor(0xD5, 0x5E, 0x00),
        Severity::High => RGBColor(0xE6, 0x9F, 0x00),
        Severity::Medium => RGBColor(0xCC, 0x79, 0xA7),
        Severity::Low => RGBColor(0x00, 0x72, 0xB2),
        Severity::Unknown => RGBColor(0x66, 0x66, 0x66),
        Severity::Negligible => RGBColor(0x99, 0x99, 0x99),
    }
}

const NEW: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const FIXED: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const LINE: RGBColor = RGBColor(0x00, 0x72, 0xB2);

/// One named series of (x index, value) points.
struct Series {
    name: String,
    colour: RGBColor,
    marker: usize,
    points: Vec<(usize, f64)>,
}

/// Every chart's data as labelled columns: (x labels, series).
fn data(chart: Chart, t: &Trends) -> (Vec<String>, Vec<Series>, &'static str) {
    let days: Vec<String> = t.days.iter().map(|d| d.day.clone()).collect();
    match chart {
        Chart::Open => {
            let series = Severity::DESCENDING
                .iter()
                .enumerate()
                .map(|(i, s)| Series {
                    name: s.as_str().into(),
                    colour: colour(*s),
                    marker: i,
                    points: t
                        .days
                        .iter()
                        .enumerate()
                        .map(|(x, d)| (x, d.open.get(*s) as f64))
                        .collect(),
                })
                .collect();
            (days, series, "open findings")
        }
        Chart::Flow => {
            let weeks = t.weeks.iter().map(|w| w.week.clone()).collect();
            let series = vec![
                Series {
                    name: "new".into(),
                    colour: NEW,
                    marker: 0,
                    points: t
                        .weeks
                        .iter()
                        .enumerate()
                        .map(|(x, w)| (x, w.new_findings as f64))
                        .collect(),
                },
                Series {
                    name: "fixed".into(),
                    colour: FIXED,
                    marker: 1,
                    points: t
                        .weeks
                        .iter()
                        .enumerate()
                        .map(|(x, w)| (x, w.fixed_findings as f64))
                        .collect(),
                },
            ];
            (weeks, series, "findings per week")
        }
        Chart::Mttr => {
            // Remediation summed per week, then averaged: a week's mean is over every
            // finding fixed in it.
            let mut weeks: Vec<(String, Vec<Remediation>)> = Vec::new();
            for d in &t.days {
                let week = crate::posture::snapshots::week_of(&d.day);
                if weeks.last().map(|w| &w.0) != Some(&week) {
                    weeks.push((
                        week,
                        vec![Remediation::default(); Severity::DESCENDING.len()],
                    ));
                }
                let w = weeks.last_mut().expect("pushed");
                for (i, s) in Severity::DESCENDING.iter().enumerate() {
                    let r = d.remediation.get(*s);
                    w.1[i].fixed += r.fixed;
                    w.1[i].open_seconds += r.open_seconds;
                }
            }
            let series = Severity::DESCENDING[..4]
                .iter()
                .enumerate()
                .map(|(i, s)| Series {
                    name: s.as_str().into(),
                    colour: colour(*s),
                    marker: i,
                    points: weeks
                        .iter()
                        .enumerate()
                        .filter_map(|(x, w)| w.1[i].mean_days().map(|m| (x, m)))
                        .collect(),
                })
                .collect();
            (weeks.into_iter().map(|w| w.0).collect(), series, "days")
        }
        Chart::Sla => (
            days,
            vec![Series {
                name: "past SLA".into(),
                colour: NEW,
                marker: 0,
                points: t
                    .days
                    .iter()
                    .enumerate()
                    .map(|(x, d)| (x, d.sla_breaches as f64))
                    .collect(),
            }],
            "open findings past SLA",
        ),
        Chart::Coverage => (
            days,
            vec![Series {
                name: "scanned".into(),
                colour: LINE,
                marker: 0,
                points: t
                    .days
                    .iter()
                    .enumerate()
                    .filter_map(|(x, d)| d.scan_coverage.map(|c| (x, c * 100.0)))
                    .collect(),
            }],
            "% of running images",
        ),
    }
}

/// The chart as CSV: one row per x label, one column per series (empty where a series
/// has no value).
pub fn csv(chart: Chart, t: &Trends) -> String {
    let (labels, series, _) = data(chart, t);
    let mut out = String::from(if chart == Chart::Flow || chart == Chart::Mttr {
        "week"
    } else {
        "day"
    });
    for s in &series {
        out.push(',');
        out.push_str(&s.name);
    }
    out.push('\n');
    for (x, label) in labels.iter().enumerate() {
        out.push_str(label);
        for s in &series {
            out.push(',');
            if let Some((_, v)) = s.points.iter().find(|(px, _)| *px == x) {
                let _ = write!(out, "{}", (v * 100.0).round() / 100.0);
            }
        }
        out.push('\n');
    }
    out
}

/// The chart as an SVG document.
pub fn svg(chart: Chart, t: &Trends) -> crate::error::Result<String> {
    render(chart, t).map_err(|e| {
        crate::error::Error::Internal(anyhow::anyhow!("drawing the {} chart: {e}", chart.as_str()))
    })
}

/// The chart's title, naming the scope unless it is the whole estate.
fn title(chart: Chart, t: &Trends) -> String {
    if t.scope.kind == "global" {
        chart.title().to_string()
    } else {
        format!("{} — {}", chart.title(), t.scope.label)
    }
}

fn render(chart: Chart, t: &Trends) -> Result<String, String> {
    let (labels, series, y_desc) = data(chart, t);
    let title = title(chart, t);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        if labels.is_empty() {
            root.draw(&Text::new(
                "No snapshots in this range yet",
                (WIDTH as i32 / 2 - 120, HEIGHT as i32 / 2),
                ("sans-serif", 16).into_font().color(&BLACK),
            ))
            .map_err(|e| e.to_string())?;
        } else {
            draw(&root, chart, &title, &labels, &series, y_desc).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(responsive(&out, &title))
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    chart: Chart,
    title: &str,
    labels: &[String],
    series: &[Series],
    y_desc: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    // Counts get at least 0–5, so their ticks stay whole numbers.
    let top = match chart {
        Chart::Coverage => 100.0,
        Chart::Mttr => (max * 1.1).max(1.0),
        _ => (max * 1.1).max(5.0),
    };
    let n = labels.len();
    let mut c = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18).into_font().color(&BLACK))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5_f64..(n as f64 - 0.5).max(0.5), 0.0_f64..top)?;
    let label_of = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        labels
            .get(i as usize)
            .map(|l| l[5..].to_string())
            .unwrap_or_default()
    };
    let whole = |v: &f64| format!("{v:.0}");
    let tenths = |v: &f64| format!("{v:.1}");
    c.configure_mesh()
        .disable_x_mesh()
        .y_label_formatter(if chart == Chart::Mttr {
            &tenths
        } else {
            &whole
        })
        .x_labels(n.clamp(1, 10))
        .x_label_formatter(&label_of)
        .y_labels(6)
        .y_desc(y_desc)
        .label_style(("sans-serif", 12).into_font().color(&BLACK))
        .axis_desc_style(("sans-serif", 13).into_font().color(&BLACK))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .draw()?;
    if chart == Chart::Flow {
        let width = 0.38;
        for (i, s) in series.iter().enumerate() {
            let offset = if i == 0 { -width } else { 0.0 };
            let colour = s.colour;
            c.draw_series(s.points.iter().map(move |(x, v)| {
                let x0 = *x as f64 + offset;
                Rectangle::new([(x0, 0.0), (x0 + width, *v)], colour.filled())
            }))?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        }
    } else {
        for s in series {
            let colour = s.colour;
            let points: Vec<(f64, f64)> = s.points.iter().map(|(x, v)| (*x as f64, *v)).collect();
            c.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            // Markers, so the series differ by shape too (only when they stay readable).
            if points.len() <= 120 {
                draw_markers(&mut c, &points, s.marker, colour)?;
            }
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12).into_font().color(&BLACK))
        .draw()?;
    Ok(())
}

/// Plane of every chart: x is the day's index, y the value.
type Plane<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// One series' markers: the `marker`-th shape of six, in its colour.
fn draw_markers(
    c: &mut Plane<'_, '_>,
    points: &[(f64, f64)],
    marker: usize,
    colour: RGBColor,
) -> Result<(), Box<dyn std::error::Error>> {
    match marker {
        0 => {
            c.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))?;
        }
        1 => {
            c.draw_series(
                points
                    .iter()
                    .map(|p| TriangleMarker::new(*p, 4, colour.filled())),
            )?;
        }
        2 => {
            c.draw_series(
                points
                    .iter()
                    .map(|p| Cross::new(*p, 4, colour.stroke_width(2))),
            )?;
        }
        3 => {
            c.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 3, colour.stroke_width(2))),
            )?;
        }
        4 => {
            c.draw_series(points.iter().map(|p| {
                EmptyElement::at(*p) + Rectangle::new([(-3, -3), (3, 3)], colour.filled())
            }))?;
        }
        _ => {
            c.draw_series(points.iter().map(|p| {
                EmptyElement::at(*p) + Rectangle::new([(-3, -3), (3, 3)], colour.stroke_width(1))
            }))?;
        }
    }
    Ok(())
}

/// Lets the SVG scale to its container and names it for assistive technology.
fn responsive(svg: &str, title: &str) -> String {
    let fixed = format!("width=\"{WIDTH}\" height=\"{HEIGHT}\"");
    let scaled = format!(
        "width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"{}\"",
        escape(title)
    );
    let svg = svg.replacen(&fixed, &scaled, 1);
    match svg.find('>') {
        Some(end) if svg[..end].contains("<svg") => {
            format!(
                "{}><title>{}</title>{}",
                &svg[..end],
                escape(title),
                &svg[end + 1..]
            )
        }
        _ => svg,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::trends::{Snapshot, WeekFlow};
    use coastguard_model::SeverityCounts;

    fn trends() -> Trends {
        let days = (1..=9)
            .map(|d| {
                let mut s = Snapshot {
                    day: format!("2026-11-{d:02}"),
                    open: SeverityCounts {
                        critical: d,
                        high: 2 * d,
                        medium: 10,
                        low: 1,
                        unknown: 0,
                        negligible: 3,
                    },
                    new_findings: d,
                    fixed_findings: 1,
                    sla_breaches: d / 2,
                    scan_coverage: (d > 3).then_some(0.5),
                    ..Snapshot::default()
                };
                s.remediation.critical = Remediation {
                    fixed: 1,
                    open_seconds: d * 86_400,
                };
                s
            })
            .collect();
        Trends {
            from: "2026-11-01".into(),
            to: "2026-11-09".into(),
            days,
            weeks: vec![
                WeekFlow {
                    week: "2026-10-26".into(),
                    new_findings: 3,
                    fixed_findings: 1,
                },
                WeekFlow {
                    week: "2026-11-02".into(),
                    new_findings: 42,
                    fixed_findings: 7,
                },
            ],
            ..Trends::default()
        }
    }

    #[test]
    fn a_scoped_chart_names_its_scope_and_escapes_it() {
        let t = Trends {
            scope: coastguard_model::trends::TrendScope {
                kind: "team".into(),
                key: "<img src=x onerror=alert(1)>".into(),
                label: "Team <img src=x onerror=alert(1)>".into(),
            },
            ..trends()
        };
        for chart in Chart::ALL {
            let svg = svg(chart, &t).unwrap();
            assert!(!svg.contains("<img"), "{chart:?}: {svg}");
            assert!(
                svg.contains(&format!(
                    "<title>{} — Team &lt;img src=x onerror=alert(1)&gt;</title>",
                    chart.title()
                )),
                "{chart:?}"
            );
        }
    }

    #[test]
    fn every_chart_renders_its_series_with_a_legend_and_scales() {
        let t = trends();
        for chart in Chart::ALL {
            let svg = svg(chart, &t).unwrap();
            assert!(svg.starts_with("<svg"), "{chart:?}");
            assert!(svg.contains("width=\"100%\""), "{chart:?}");
            assert!(
                svg.contains(&format!("<title>{}</title>", chart.title())),
                "{chart:?}"
            );
            assert!(svg.contains(chart.title()), "{chart:?}");
        }
        let texts = |svg: &str| -> Vec<String> {
            svg.split("<text")
                .skip(1)
                .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once("</text>")))
                .map(|(inner, _)| inner.trim().to_string())
                .collect()
        };
        let open = svg(Chart::Open, &t).unwrap();
        let labels = texts(&open);
        for s in ["critical", "high", "medium", "low", "unknown"] {
            assert!(labels.iter().any(|l| l == s), "legend {s}: {labels:?}");
        }
        // Day labels on the x axis, whole numbers on the y axis.
        assert!(labels.iter().any(|l| l == "11-05"));
        let numbers: Vec<&String> = labels.iter().filter(|l| l.parse::<f64>().is_ok()).collect();
        assert!(numbers.len() >= 3, "{numbers:?}");
        assert!(numbers.iter().all(|l| !l.contains('.')), "{numbers:?}");
        // One line per severity, in its colour.
        for c in ["#D55E00", "#E69F00", "#CC79A7", "#0072B2", "#666666"] {
            let line = open
                .split("<polyline")
                .skip(1)
                .filter(|p| {
                    p.contains(&format!("stroke=\"{c}\"")) && p.contains("stroke-width=\"2\"")
                })
                .count();
            assert!(line >= 1, "a line in {c}");
        }
        let flow = svg(Chart::Flow, &t).unwrap();
        let labels = texts(&flow);
        assert!(labels.iter().any(|l| l == "new") && labels.iter().any(|l| l == "fixed"));
        assert!(flow.contains("#009E73"));
        // Days to remediate keep a decimal.
        assert!(texts(&svg(Chart::Mttr, &t).unwrap())
            .iter()
            .any(|l| l.contains('.')));
    }

    #[test]
    fn an_empty_range_says_so() {
        let svg = svg(Chart::Open, &Trends::default()).unwrap();
        assert!(svg.contains("No snapshots in this range yet"));
    }

    #[test]
    fn csv_holds_the_numbers_behind_each_chart() {
        let t = trends();
        let open = csv(Chart::Open, &t);
        let lines: Vec<&str> = open.lines().collect();
        assert_eq!(lines[0], "day,critical,high,medium,low,unknown,negligible");
        assert_eq!(lines[3], "2026-11-03,3,6,10,1,0,3");
        assert_eq!(lines.len(), 10);
        assert_eq!(csv(Chart::Flow, &t).lines().nth(2), Some("2026-11-02,42,7"));
        // Coverage is unknown on the first days: empty cells, not zeros.
        assert_eq!(csv(Chart::Coverage, &t).lines().nth(1), Some("2026-11-01,"));
        assert_eq!(
            csv(Chart::Coverage, &t).lines().nth(5),
            Some("2026-11-05,50")
        );
        // MTTR: week of 2026-10-26 holds Nov 1 (1 day); week of Nov 2 holds Nov 2–8
        // (2..=8 days, mean 5); Nov 9 starts a week of its own.
        let mttr = csv(Chart::Mttr, &t);
        let rows: Vec<&str> = mttr.lines().collect();
        assert_eq!(rows[0], "week,critical,high,medium,low");
        assert_eq!(rows[1], "2026-10-26,1,,,");
        assert_eq!(rows[2], "2026-11-02,5,,,");
        assert_eq!(rows[3], "2026-11-09,9,,,");
    }
}
