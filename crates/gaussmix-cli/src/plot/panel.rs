//! One 2-D panel: the points (or, for many points, a 2-D histogram coloured by
//! component), optional density contours, the 1σ/2σ ellipses and the means, drawn in
//! that order so nothing the model says hides under the data.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::contour::Grid;
use super::palette::{color, marker, shape};
use super::{axis, e, fs, px, Layers, Marks, View};

/// Beyond this many points a panel shows a 2-D histogram instead of every point.
pub const MAX_POINTS: usize = 20_000;

/// Which pair of features a panel shows, over which ranges, and how.
pub struct PanelSpec {
    pub fi: usize,
    pub fj: usize,
    pub xr: (f64, f64),
    pub yr: (f64, f64),
    pub layers: Layers,
    /// A panel of a pairs matrix: small ticks, no axis titles.
    pub compact: bool,
    pub scale: f64,
}

/// Draws the panel; returns each component's mean as a pixel position (those inside).
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    view: &View,
    s: &PanelSpec,
) -> Result<PanelMarks, String>
where
    DB::ErrorType: 'static,
{
    let (xr, yr) = (s.xr, s.yr);
    let mut b = ChartBuilder::on(area);
    if s.compact {
        b.margin(4)
            .x_label_area_size(fs(s.scale, 18.0))
            .y_label_area_size(fs(s.scale, 38.0));
    } else {
        b.margin(12)
            .x_label_area_size(fs(s.scale, 50.0))
            .y_label_area_size(fs(s.scale, 75.0));
    }
    let mut chart = b.build_cartesian_2d(xr.0..xr.1, yr.0..yr.1).map_err(e)?;
    let (xo, yo) = (axis::offset(xr.0, xr.1), axis::offset(yr.0, yr.1));
    let (xz, yz) = (xo.unwrap_or(0.0), yo.unwrap_or(0.0));
    let xf = move |v: &f64| axis::tick(*v - xz, xr.0 - xz, xr.1 - xz);
    let yf = move |v: &f64| axis::tick(*v - yz, yr.0 - yz, yr.1 - yz);
    let (xname, yname) = (
        axis::with_offset(&view.names[s.fi], xo),
        axis::with_offset(&view.names[s.fj], yo),
    );
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .label_style((
            "sans-serif",
            fs(s.scale, if s.compact { 11.0 } else { 16.0 }),
        ));
    if s.compact {
        mesh.x_labels(4).y_labels(4);
    } else {
        mesh.x_desc(xname.as_str())
            .y_desc(yname.as_str())
            .axis_desc_style(("sans-serif", fs(s.scale, 18.0)));
    }
    mesh.draw().map_err(e)?;

    let plot_px = chart.plotting_area().dim_in_pixel();
    let n = view.n();
    let k = view.model.n_components();
    let base: f64 = match (n, s.compact) {
        (0..=500, false) => 4.0,
        (0..=5000, false) => 3.0,
        (_, false) => 2.0,
        (0..=500, true) => 3.0,
        (0..=5000, true) => 2.0,
        _ => 1.0,
    };
    let base_r = px(s.scale, base) as i32;
    // More points, more transparent: 0.9 at 100 rows, 0.6 at 10,000, 0.45 at 20,000.
    let alpha = (0.9 - 0.15 * (n.max(1) as f64 / 100.0).log10()).clamp(0.3, 0.9);
    let inside = |x: f64, y: f64| x >= xr.0 && x <= xr.1 && y >= yr.0 && y <= yr.1;
    let at = |i: usize| (view.value(i, s.fi), view.value(i, s.fj));

    if s.layers.uncertainty {
        // Most uncertain on top, larger and darker; mclust's uncertainty plot.
        let umax = (1.0 - 1.0 / k.max(2) as f64).max(1e-12);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| view.uncertainty[*a].total_cmp(&view.uncertainty[*b]));
        let (binned, drawn) = if n > MAX_POINTS {
            // The certain bulk as a faint histogram, the MAX_POINTS most uncertain drawn.
            order.split_at(n - MAX_POINTS)
        } else {
            order.split_at(0)
        };
        if !binned.is_empty() {
            bins(&mut chart, view, s, plot_px, binned.iter().copied(), 0.5)?;
        }
        chart
            .draw_series(drawn.iter().filter_map(|&i| {
                let (x, y) = at(i);
                if !inside(x, y) {
                    return None;
                }
                let u = (view.uncertainty[i] / umax).clamp(0.0, 1.0);
                let r = (base_r as f64 * (0.6 + 2.4 * u)).round() as i32;
                let c = color(view.labels[i]).mix(0.15 + 0.8 * u);
                Some(marker((x, y), shape(view.labels[i]), r, c.filled()))
            }))
            .map_err(e)?;
    } else if n > MAX_POINTS {
        bins(&mut chart, view, s, plot_px, 0..n, 1.0)?;
    } else {
        chart
            .draw_series((0..n).filter_map(|i| {
                let (x, y) = at(i);
                let l = view.labels[i];
                inside(x, y).then(|| marker((x, y), shape(l), base_r, color(l).mix(alpha).filled()))
            }))
            .map_err(e)?;
    }

    if s.layers.contours {
        let grid_n = if s.compact { 70 } else { 160 };
        let logd = marginal(view, s.fi, s.fj);
        let grid = Grid::sample(grid_n, grid_n, xr, yr, &logd);
        for level in levels(view, s.fi, s.fj, &logd) {
            chart
                .draw_series(grid.segments(level).into_iter().map(|seg| {
                    PathElement::new(seg.to_vec(), RGBColor(45, 45, 45).stroke_width(1))
                }))
                .map_err(e)?;
        }
    }

    let covs = view.model.component_covariances();
    let means = view.model.means();
    let mut rims = Vec::new();
    for (c, cov) in covs.iter().enumerate() {
        let mu = (means[[c, s.fi]], means[[c, s.fj]]);
        let (a, bb, cc) = (cov[[s.fi, s.fi]], cov[[s.fi, s.fj]], cov[[s.fj, s.fj]]);
        let col = color(c);
        // With contours drawn, the 2σ ellipse would only crowd them.
        let sigmas: &[(f64, u32)] = if s.layers.contours {
            &[(1.0, 2)]
        } else {
            &[(2.0, 1), (1.0, 2)]
        };
        // A darker shade of the component's colour over a white halo: visible over
        // points (or histogram cells) of its own colour and over the others'.
        let line = shade(col);
        for &(sig, w) in sigmas {
            let w = px(s.scale, w as f64);
            let pts = ellipse(mu, a, bb, cc, sig);
            // The image tests look for the 1σ ellipse at its first point.
            if sig == 1.0 {
                if let Some(p) = pts.first().filter(|p| inside(p.0, p.1)) {
                    rims.push((c, chart.backend_coord(p)));
                }
            }
            for run in clip(&pts, xr, yr) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        run.clone(),
                        WHITE.mix(0.8).stroke_width(w + 2),
                    )))
                    .map_err(e)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(run, line.stroke_width(w))))
                    .map_err(e)?;
            }
        }
    }

    // Smaller means when there are many, so they do not hide their points.
    let r = px(
        s.scale,
        match (s.compact, k > 12) {
            (false, false) => 7.0,
            (false, true) | (true, false) => 5.0,
            (true, true) => 4.0,
        },
    ) as i32;
    let label_font = (
        "sans-serif",
        fs(s.scale, if s.compact { 11.0 } else { 14.0 }),
    );
    let mut marks = Vec::new();
    for c in 0..k {
        let mu = (means[[c, s.fi]], means[[c, s.fj]]);
        if !inside(mu.0, mu.1) {
            continue;
        }
        let sh = shape(c);
        chart
            .draw_series([
                marker(mu, sh, r + 2, WHITE.filled()),
                marker(mu, sh, r, color(c).filled()),
                marker(mu, sh, r, BLACK.stroke_width(1)),
            ])
            .map_err(e)?;
        if s.compact && k > 12 {
            // Unreadable at that density: the colours and the legend say it.
            marks.push((c, chart.backend_coord(&mu)));
            continue;
        }
        let text = c.to_string();
        let tw = (text.len() as f64 * 0.62 * label_font.1 as f64) as i32;
        let th = label_font.1 as i32;
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(mu)
                    + Rectangle::new(
                        [(r + 2, -r - th - 1), (r + 4 + tw, -r + 1)],
                        WHITE.mix(0.8).filled(),
                    )
                    + Text::new(text, (r + 3, -r - th), label_font.into_font().color(&BLACK)),
            ))
            .map_err(e)?;
        marks.push((c, chart.backend_coord(&mu)));
    }
    Ok(PanelMarks { means: marks, rims })
}

/// Where a panel put each component's mean and a point of its 1σ ellipse, in pixels.
pub struct PanelMarks {
    pub means: Marks,
    pub rims: Marks,
}

/// The colour ellipses are drawn in: the component's, darkened.
pub fn shade(c: RGBColor) -> RGBColor {
    let f = |v: u8| (v as f64 * 0.6).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The rows `idx` as a 2-D histogram of cells about 3 pixels wide: each cell in the
/// colour of the component most of its rows belong to, more opaque the more rows.
fn bins<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    view: &View,
    s: &PanelSpec,
    plot_px: (u32, u32),
    idx: impl Iterator<Item = usize>,
    fade: f64,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let (xr, yr) = (s.xr, s.yr);
    let nx = (plot_px.0 / 3).clamp(8, 400) as usize;
    let ny = (plot_px.1 / 3).clamp(8, 400) as usize;
    let k = view.model.n_components();
    let mut counts = vec![0u32; nx * ny * k];
    for i in idx {
        let (x, y) = (view.value(i, s.fi), view.value(i, s.fj));
        let cx = ((x - xr.0) / (xr.1 - xr.0) * nx as f64).floor();
        let cy = ((y - yr.0) / (yr.1 - yr.0) * ny as f64).floor();
        if cx >= 0.0 && cy >= 0.0 && (cx as usize) < nx && (cy as usize) < ny {
            counts[((cy as usize) * nx + cx as usize) * k + view.labels[i]] += 1;
        }
    }
    let totals: Vec<u32> = counts.chunks_exact(k).map(|c| c.iter().sum()).collect();
    let cmax = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (dx, dy) = ((xr.1 - xr.0) / nx as f64, (yr.1 - yr.0) / ny as f64);
    chart
        .draw_series(
            totals
                .iter()
                .enumerate()
                .filter(|(_, t)| **t > 0)
                .map(|(cell, t)| {
                    let per = &counts[cell * k..(cell + 1) * k];
                    let top = (0..k).max_by_key(|c| per[*c]).unwrap_or(0);
                    let a = (0.25 + 0.75 * (1.0 + *t as f64).ln() / (1.0 + cmax).ln()) * fade;
                    let (cx, cy) = ((cell % nx) as f64, (cell / nx) as f64);
                    Rectangle::new(
                        [
                            (xr.0 + cx * dx, yr.0 + cy * dy),
                            (xr.0 + (cx + 1.0) * dx, yr.0 + (cy + 1.0) * dy),
                        ],
                        color(top).mix(a).filled(),
                    )
                }),
        )
        .map_err(e)?;
    Ok(())
}

/// The log-density of the mixture's marginal over features `fi`, `fj` (each
/// component's 2 × 2 covariance block, through its Cholesky factor).
pub fn marginal<'v>(view: &'v View, fi: usize, fj: usize) -> impl Fn(f64, f64) -> f64 + 'v {
    let covs = view.model.component_covariances();
    let means = view.model.means();
    let comps: Vec<_> = (0..view.model.n_components())
        .filter_map(|c| {
            let cov = &covs[c];
            let l11 = cov[[fi, fi]].sqrt();
            let l21 = cov[[fi, fj]] / l11;
            let l22 = (cov[[fj, fj]] - l21 * l21).sqrt();
            let w = view.model.weights()[c];
            let ok = l11 > 0.0 && l22 > 0.0 && l11.is_finite() && l22.is_finite() && w > 0.0;
            ok.then(|| {
                let norm = w.ln() - (std::f64::consts::TAU).ln() - l11.ln() - l22.ln();
                (means[[c, fi]], means[[c, fj]], l11, l21, l22, norm)
            })
        })
        .collect();
    move |x, y| {
        let terms: Vec<f64> = comps
            .iter()
            .map(|&(mx, my, l11, l21, l22, norm)| {
                let z1 = (x - mx) / l11;
                let z2 = (y - my - l21 * z1) / l22;
                norm - 0.5 * (z1 * z1 + z2 * z2)
            })
            .collect();
        let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !m.is_finite() {
            return m;
        }
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    }
}

/// Contour levels: the marginal log-density at quantiles of the data's own values
/// (so the lines enclose roughly 98%, 90%, 75%, 50%, 25% and 10% of the rows).
fn levels(view: &View, fi: usize, fj: usize, logd: &impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let n = view.n();
    let step = (n / 5000).max(1);
    let mut v: Vec<f64> = (0..n)
        .step_by(step)
        .map(|i| logd(view.value(i, fi), view.value(i, fj)))
        .filter(|v| v.is_finite())
        .collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = [0.02, 0.1, 0.25, 0.5, 0.75, 0.9]
        .iter()
        .map(|q| v[((v.len() - 1) as f64 * q).round() as usize])
        .collect();
    out.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    out
}

/// Points of the `s`-sigma ellipse of a 2×2 covariance `[[a, b], [b, c]]` around `mu`.
pub fn ellipse(mu: (f64, f64), a: f64, b: f64, c: f64, s: f64) -> Vec<(f64, f64)> {
    let mid = 0.5 * (a + c);
    let rad = (0.25 * (a - c) * (a - c) + b * b).sqrt();
    let (l1, l2) = ((mid + rad).max(0.0), (mid - rad).max(0.0));
    let (vx, vy) = if b.abs() > 1e-300 {
        let (x, y) = (b, l1 - a);
        let n = (x * x + y * y).sqrt();
        (x / n, y / n)
    } else if a >= c {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    // 240 vertices: smooth at any size the figures use.
    (0..=240)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 240.0;
            let (p, q) = (s * l1.sqrt() * t.cos(), s * l2.sqrt() * t.sin());
            (mu.0 + p * vx - q * vy, mu.1 + p * vy + q * vx)
        })
        .collect()
}

/// The parts of a polyline inside the box (plotters would clamp the rest onto the
/// edges).
pub fn clip(line: &[(f64, f64)], xr: (f64, f64), yr: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: &(f64, f64)| p.0 >= xr.0 && p.0 <= xr.1 && p.1 >= yr.0 && p.1 <= yr.1;
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for p in line {
        if inside(p) && p.0.is_finite() && p.1.is_finite() {
            cur.push(*p);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if cur.len() > 1 {
        runs.push(cur);
    }
    runs.retain(|r| r.len() > 1);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_axes_follow_the_covariance() {
        // Variances 4 and 1, no correlation: 1σ reaches x ± 2 and y ± 1.
        let pts = ellipse((1.0, -1.0), 4.0, 0.0, 1.0, 1.0);
        let (xl, xh) = axis::extent(pts.iter().map(|p| p.0)).unwrap();
        let (yl, yh) = axis::extent(pts.iter().map(|p| p.1)).unwrap();
        assert!((xl + 1.0).abs() < 1e-9 && (xh - 3.0).abs() < 1e-9);
        assert!((yl + 2.0).abs() < 1e-3 && (yh - 0.0).abs() < 1e-3);
        // Correlated: every point has Mahalanobis distance s.
        let (a, b, c) = (2.0, 1.2, 1.5);
        for (x, y) in ellipse((0.0, 0.0), a, b, c, 2.0) {
            let det = a * c - b * b;
            let m = (c * x * x - 2.0 * b * x * y + a * y * y) / det;
            assert!((m.sqrt() - 2.0).abs() < 1e-9);
        }
    }

    #[test]
    fn clipping_keeps_only_the_inside_runs() {
        let line: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64, 0.0)).collect();
        let runs = clip(&line, (2.5, 7.5), (-1.0, 1.0));
        assert_eq!(
            runs,
            vec![vec![
                (3.0, 0.0),
                (4.0, 0.0),
                (5.0, 0.0),
                (6.0, 0.0),
                (7.0, 0.0)
            ]]
        );
        assert!(clip(&line, (20.0, 30.0), (-1.0, 1.0)).is_empty());
    }
}
