//! Backtest charts with `plotters`, as SVG and PNG: per policy, load, dynos (up and booting),
//! queue-wait p95 against its target and the decision markers; per trace, an overview of every
//! policy's cost against its lateness. Text uses an embedded DejaVu Sans (Bitstream Vera
//! licence, `assets/DejaVuSans-LICENSE.txt`), so no system font library is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::anyhow;
use dynopilot_backtest::engine::TimelinePoint;
use dynopilot_backtest::{Report, RunResult};
use plotters::coord::Shift;
use plotters::prelude::*;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Enough points for a readable line; more only makes the SVG bigger.
const MAX_POINTS: usize = 2_000;
const SIZE: (u32, u32) = (1_200, 800);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A bad embedded font would only lose the labels; the charts still draw.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Writes `<trace>-<policy>.{svg,png}` for every run and `<trace>-overview.{svg,png}`; returns
/// the files written.
pub fn write(dir: &Path, report: &Report, runs: &[RunResult]) -> anyhow::Result<Vec<PathBuf>> {
    register_font();
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for run in runs {
        let stem = dir.join(format!("{}-{}", report.trace, run.policy));
        let (svg, png) = (stem.with_extension("svg"), stem.with_extension("png"));
        timeline(SVGBackend::new(&svg, SIZE).into_drawing_area(), report, run)?;
        timeline(
            BitMapBackend::new(&png, SIZE).into_drawing_area(),
            report,
            run,
        )?;
        written.extend([svg, png]);
    }
    let stem = dir.join(format!("{}-overview", report.trace));
    let (svg, png) = (stem.with_extension("svg"), stem.with_extension("png"));
    overview(SVGBackend::new(&svg, SIZE).into_drawing_area(), report)?;
    overview(BitMapBackend::new(&png, SIZE).into_drawing_area(), report)?;
    written.extend([svg, png]);
    Ok(written)
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("chart: {e}")
}

/// Every `k`-th point (keeping the largest of each group, so peaks survive).
fn thin(points: &[TimelinePoint]) -> Vec<TimelinePoint> {
    let k = points.len().div_ceil(MAX_POINTS).max(1);
    points
        .chunks(k)
        .filter_map(|c| {
            let mut p = c.iter().max_by(|a, b| a.rps.total_cmp(&b.rps))?.clone();
            p.wait_p95_ms = c.iter().map(|q| q.wait_p95_ms).fold(0.0, f64::max);
            p.up = c.iter().map(|q| q.up).max().unwrap_or(0);
            p.booting = c.iter().map(|q| q.booting).max().unwrap_or(0);
            Some(p)
        })
        .collect()
}

fn timeline<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
    run: &RunResult,
) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let title = format!("{} — {}", report.trace, run.policy);
    let root = root.titled(&title, ("sans-serif", 22)).map_err(err)?;
    let panels = root.split_evenly((3, 1));
    let points = thin(&run.timeline);
    let hours = (report.duration_s / 3_600.0).max(1e-3);
    let x = |p: &TimelinePoint| p.t_s / 3_600.0;
    let max_rps = points.iter().map(|p| p.rps).fold(1.0, f64::max) * 1.1;
    let mut load = ChartBuilder::on(&panels[0])
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..hours, 0.0..max_rps)
        .map_err(err)?;
    load.configure_mesh()
        .y_desc("requests/s")
        .draw()
        .map_err(err)?;
    load.draw_series(LineSeries::new(points.iter().map(|p| (x(p), p.rps)), &BLUE))
        .map_err(err)?;

    let max_dynos = points.iter().map(|p| p.up + p.booting).max().unwrap_or(1) as f64 * 1.15 + 1.0;
    let mut dynos = ChartBuilder::on(&panels[1])
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..hours, 0.0..max_dynos)
        .map_err(err)?;
    dynos.configure_mesh().y_desc("dynos").draw().map_err(err)?;
    dynos
        .draw_series(AreaSeries::new(
            points.iter().map(|p| (x(p), f64::from(p.up + p.booting))),
            0.0,
            RGBColor(255, 200, 120).mix(0.6),
        ))
        .map_err(err)?
        .label("booting")
        .legend(|(a, b)| {
            Rectangle::new(
                [(a, b - 5), (a + 15, b + 5)],
                RGBColor(255, 200, 120).filled(),
            )
        });
    dynos
        .draw_series(AreaSeries::new(
            points.iter().map(|p| (x(p), f64::from(p.up))),
            0.0,
            GREEN.mix(0.5),
        ))
        .map_err(err)?
        .label("up")
        .legend(|(a, b)| Rectangle::new([(a, b - 5), (a + 15, b + 5)], GREEN.mix(0.5).filled()));
    dynos
        .draw_series(run.timeline.iter().filter_map(|p| {
            p.scaled_to
                .map(|q| Circle::new((x(p), f64::from(q)), 2, RED.filled()))
        }))
        .map_err(err)?
        .label("decision")
        .legend(|(a, b)| Circle::new((a + 7, b), 3, RED.filled()));
    dynos
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let target = report.scenario.late_ms;
    let cap = target * 5.0;
    let mut wait = ChartBuilder::on(&panels[2])
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..hours, 0.0..cap * 1.05)
        .map_err(err)?;
    wait.configure_mesh()
        .x_desc("hours")
        .y_desc("queue wait p95 (ms)")
        .draw()
        .map_err(err)?;
    wait.draw_series(LineSeries::new(
        points.iter().map(|p| (x(p), p.wait_p95_ms.min(cap))),
        &MAGENTA,
    ))
    .map_err(err)?;
    wait.draw_series(LineSeries::new(
        [(0.0, target), (hours, target)],
        BLACK.stroke_width(2),
    ))
    .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

fn overview<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let title = format!("{}: cost against lateness, every policy", report.trace);
    let root = root.titled(&title, ("sans-serif", 22)).map_err(err)?;
    let late = |v: f64| v.max(0.01);
    let max_cost = report
        .rows
        .iter()
        .map(|r| r.cost_vs_oracle)
        .fold(1.0, f64::max)
        * 1.15;
    let max_late = report
        .rows
        .iter()
        .map(|r| late(r.late_pct))
        .fold(1.0, f64::max)
        * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_cost, (0.01..max_late).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("cost / oracle cost")
        .y_desc("% requests late")
        .draw()
        .map_err(err)?;
    for row in &report.rows {
        let at = (row.cost_vs_oracle, late(row.late_pct));
        let color = if row.policy == "oracle" {
            BLACK
        } else if row.policy.starts_with("dynopilot") {
            BLUE
        } else {
            RED
        };
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(at)
                    + Circle::new((0, 0), 5, color.filled())
                    + Text::new(row.policy.clone(), (8, -6), ("sans-serif", 14)),
            ))
            .map_err(err)?;
    }
    let goal = 100.0 * report.scenario.late_goal;
    chart
        .draw_series(LineSeries::new(
            [(0.0, goal), (max_cost, goal)],
            BLACK.mix(0.4),
        ))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
