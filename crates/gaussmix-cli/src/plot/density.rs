//! The 1-D figure: a histogram of the data, each weighted component density in its
//! colour, the mixture (dashed, so the components show through where they coincide
//! with it) on top, and a rug of the rows coloured by component.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Key};
use super::palette::color;
use super::{axis, e, font_scale, fs, Drawn, Figure, Layers, View};

/// Most rows the rug shows (every n-th row beyond).
const RUG_ROWS: usize = 5000;

pub struct Density<'a> {
    pub view: &'a View<'a>,
    pub title: String,
    pub layers: Layers,
}

pub fn normal_pdf(x: f64, mu: f64, var: f64) -> f64 {
    (-(x - mu) * (x - mu) / (2.0 * var)).exp() / (std::f64::consts::TAU * var).sqrt()
}

/// Histogram bins: the finer of the Freedman–Diaconis and Sturges rules (numpy's
/// "auto"), made finer still where the narrowest component needs it (a bin at most
/// 2/3 of its standard deviation), with at most 120 bins and about 5 rows a bin.
pub fn histogram(x: &[f64], lo: f64, hi: f64, sd_min: f64) -> (f64, Vec<f64>) {
    let n = x.len();
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((n.max(1) - 1) as f64 * p).round() as usize];
    let bins = if n < 4 || hi <= lo {
        10
    } else {
        let span = hi - lo;
        let iqr = q(0.75) - q(0.25);
        let fd = 2.0 * iqr / (n as f64).cbrt();
        let sturges = span / ((n as f64).log2() + 1.0);
        let mut h = if fd > 0.0 { fd.min(sturges) } else { sturges };
        if sd_min.is_finite() && sd_min > 0.0 {
            h = h.min(sd_min / 1.5);
        }
        let most = (n / 5).clamp(10, 120);
        ((span / h).ceil() as usize).clamp(10, most)
    };
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for v in x {
        let b = (((v - lo) / width).max(0.0) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let dens = counts
        .iter()
        .map(|c| *c as f64 / (n.max(1) as f64 * width))
        .collect();
    (width, dens)
}

/// Draws the densities of feature `j` (a histogram, the weighted components, the
/// mixture, a rug) on `area`; returns each component's peak as a pixel position.
pub fn draw_marginal<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    view: &View,
    j: usize,
    xr: (f64, f64),
    layers: Layers,
    compact: bool,
    scale: f64,
) -> Result<Vec<(usize, (i32, i32))>, String>
where
    DB::ErrorType: 'static,
{
    let n = view.n();
    let x: Vec<f64> = (0..n).map(|i| view.value(i, j)).collect();
    let (lo, hi) = axis::extent(x.iter().copied()).unwrap_or((xr.0, xr.1));
    let covs = view.model.component_covariances();
    let sd_min = covs
        .iter()
        .map(|c| c[[j, j]].sqrt())
        .fold(f64::INFINITY, f64::min);
    let (width, dens) = histogram(&x, lo, hi, sd_min);
    let steps = 600;
    let grid: Vec<f64> = (0..=steps)
        .map(|i| xr.0 + (xr.1 - xr.0) * i as f64 / steps as f64)
        .collect();
    let k = view.model.n_components();
    let comps: Vec<Vec<(f64, f64)>> = (0..k)
        .map(|c| {
            let w = view.model.weights()[c];
            let mu = view.model.means()[[c, j]];
            let var = covs[c][[j, j]];
            grid.iter()
                .map(|&g| (g, w * normal_pdf(g, mu, var)))
                .collect()
        })
        .collect();
    let mix: Vec<(f64, f64)> = grid
        .iter()
        .enumerate()
        .map(|(i, &g)| (g, comps.iter().map(|c| c[i].1).sum()))
        .collect();
    let show_hist = !layers.density_only;
    let top = mix
        .iter()
        .map(|p| p.1)
        .chain(dens.iter().copied().filter(|_| show_hist))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-300);
    // Narrow components can peak far above the data's histogram; the axis follows
    // the histogram and the mixture, and a taller component is cut at the top.
    let ymax = top * 1.08;
    let rug = show_hist && n > 0;
    let ymin = if rug { -0.09 * ymax } else { 0.0 };
    let mut b = ChartBuilder::on(area);
    if compact {
        b.margin(4)
            .x_label_area_size(fs(scale, 18.0))
            .y_label_area_size(fs(scale, 38.0));
    } else {
        b.margin(12)
            .x_label_area_size(fs(scale, 50.0))
            .y_label_area_size(fs(scale, 75.0));
    }
    let mut chart = b.build_cartesian_2d(xr.0..xr.1, ymin..ymax).map_err(e)?;
    let xf = move |v: &f64| axis::tick(*v, xr.0, xr.1);
    let yf = move |v: &f64| {
        if *v < 0.0 {
            String::new()
        } else {
            axis::tick(*v, 0.0, ymax)
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .label_style(("sans-serif", fs(scale, if compact { 11.0 } else { 16.0 })));
    if compact {
        mesh.x_labels(4).y_labels(3);
    } else {
        mesh.x_desc(view.names[j].as_str())
            .y_desc("density")
            .axis_desc_style(("sans-serif", fs(scale, 18.0)));
    }
    mesh.draw().map_err(e)?;
    let clip_y = |v: f64| v.min(ymax);
    if show_hist {
        let grey = RGBColor(160, 160, 160).mix(0.45);
        chart
            .draw_series(dens.iter().enumerate().map(|(bi, h)| {
                let a = lo + bi as f64 * width;
                Rectangle::new([(a, 0.0), (a + width, clip_y(*h))], grey.filled())
            }))
            .map_err(e)?;
    }
    let lw = if compact { 2 } else { 3 };
    for (c, pts) in comps.iter().enumerate() {
        let col = color(c);
        let clipped: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, clip_y(p.1))).collect();
        let mut poly = clipped.clone();
        poly.push((xr.1, 0.0));
        poly.push((xr.0, 0.0));
        chart
            .draw_series(std::iter::once(Polygon::new(poly, col.mix(0.12).filled())))
            .map_err(e)?;
        // Only where the component has density to show: along the axis, the lines of
        // all components would pile up into one coloured bar.
        let floor = 0.003 * ymax;
        for run in clipped.split(|p| p.1 < floor).filter(|r| r.len() > 1) {
            chart
                .draw_series(LineSeries::new(run.to_vec(), col.stroke_width(lw)))
                .map_err(e)?;
        }
    }
    let mix_clipped: Vec<(f64, f64)> = mix.iter().map(|p| (p.0, clip_y(p.1))).collect();
    chart
        .draw_series(DashedLineSeries::new(
            mix_clipped,
            8,
            5,
            BLACK.stroke_width(if compact { 1 } else { 2 }),
        ))
        .map_err(e)?;
    if rug {
        let step = (n / RUG_ROWS).max(1);
        let (r0, r1) = (-0.08 * ymax, -0.015 * ymax);
        chart
            .draw_series((0..n).step_by(step).map(|i| {
                let v = x[i];
                PathElement::new(vec![(v, r0), (v, r1)], color(view.labels[i]).mix(0.6))
            }))
            .map_err(e)?;
    }
    let mut marks = Vec::new();
    for c in 0..k {
        let mu = view.model.means()[[c, j]];
        let peak = view.model.weights()[c] / (std::f64::consts::TAU * covs[c][[j, j]]).sqrt();
        if mu >= xr.0 && mu <= xr.1 && peak.is_finite() {
            marks.push((c, chart.backend_coord(&(mu, clip_y(peak) * 0.5))));
        }
    }
    Ok(marks)
}

impl Figure for Density<'_> {
    fn default_size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<Drawn, String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let scale = font_scale(root.dim_in_pixel());
        let root = root
            .titled(&self.title, ("sans-serif", fs(scale, 24.0)))
            .map_err(e)?;
        let mut entries = legend::components(self.view.model.weights().as_slice().unwrap_or(&[]));
        entries.push(Entry::new(Key::Line(BLACK, 2, true), "mixture"));
        if !self.layers.density_only {
            entries.push(Entry::new(
                Key::Patch(RGBColor(160, 160, 160).mix(0.45)),
                "data (histogram)",
            ));
            entries.push(Entry::new(
                Key::Line(color(0), 1, false),
                "rug: rows by component",
            ));
        }
        let longest = entries
            .iter()
            .map(|x| x.text.chars().count())
            .max()
            .unwrap_or(10);
        let (data, side) = legend::split(&root, longest, scale);
        let marks = draw_marginal(
            &data,
            self.view,
            0,
            self.view.range(0),
            self.layers,
            false,
            scale,
        )?;
        legend::draw(&side, Some("component"), &entries, scale)?;
        Ok(Drawn { marks })
    }
}
