//! Figures: the 1-D histogram with weighted component densities, the 2-D scatter with
//! means and 1σ/2σ ellipses, and the convergence curve. PNG or SVG by extension; the PNG
//! text is drawn with an embedded DejaVu Sans so no system font is needed.

use std::path::Path;
use std::sync::Once;

use gaussmix::GaussianMixture;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{CliError, CliResult};
use crate::output::with_temp_file;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to be valid; a failure would only lose text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// Something that can be drawn on any plotters backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
    fn size(&self) -> (u32, u32) {
        (900, 650)
    }
}

/// Renders `fig` to `path` (PNG or SVG by extension), atomically.
pub fn render(fig: &impl Figure, path: &Path) -> CliResult<()> {
    register_font();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext != "png" && ext != "svg" {
        return Err(CliError::usage(format!(
            "cannot plot to {}: the file name must end in .png or .svg",
            path.display()
        )));
    }
    with_temp_file(path, |tmp| {
        let res = if ext == "png" {
            let root = BitMapBackend::new(tmp, fig.size()).into_drawing_area();
            fig.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        } else {
            let root = SVGBackend::new(tmp, fig.size()).into_drawing_area();
            fig.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        };
        res.map_err(|e| CliError::data(format!("drawing failed: {e}")))
    })
}

fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - 0.05 * span, hi + 0.05 * span)
}

fn normal_pdf(x: f64, mu: f64, var: f64) -> f64 {
    (-(x - mu) * (x - mu) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
}

/// A chart with the figures' common title, margins and label areas.
fn chart_on<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    title_size: u32,
    y_label_area: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", title_size))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(y_label_area);
    b
}

/// The legend, boxed, at `pos`.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(e)
}

/// 1-D: density histogram, each weighted component density and the mixture density.
pub struct Histogram<'a> {
    pub model: &'a GaussianMixture,
    pub x: Vec<f64>,
    pub title: String,
    pub label: String,
}

impl Figure for Histogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let n = self.x.len();
        let lo = self.x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let bins = 30usize;
        let width = if hi > lo {
            (hi - lo) / bins as f64
        } else {
            1.0
        };
        let mut counts = vec![0usize; bins];
        for v in &self.x {
            let b = (((v - lo) / width) as usize).min(bins - 1);
            counts[b] += 1;
        }
        let dens: Vec<f64> = counts
            .iter()
            .map(|c| *c as f64 / (n as f64 * width))
            .collect();
        let (x0, x1) = padded(lo, hi.max(lo + width));
        let grid: Vec<f64> = (0..=400)
            .map(|i| x0 + (x1 - x0) * i as f64 / 400.0)
            .collect();
        let k = self.model.n_components();
        let covs = self.model.component_covariances();
        let comps: Vec<Vec<(f64, f64)>> = (0..k)
            .map(|c| {
                let w = self.model.weights()[c];
                let mu = self.model.means()[[c, 0]];
                let var = covs[c][[0, 0]];
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
        let ymax = dens
            .iter()
            .copied()
            .chain(mix.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            * 1.1;
        let mut chart = chart_on(root, &self.title, 26, 70)
            .build_cartesian_2d(x0..x1, 0.0..ymax.max(1e-12))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(self.label.as_str())
            .y_desc("density")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(e)?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(dens.iter().enumerate().map(|(b, h)| {
                let a = lo + b as f64 * width;
                Rectangle::new([(a, 0.0), (a + width, *h)], grey.mix(0.5).filled())
            }))
            .map_err(e)?
            .label("data (histogram)")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 18, y + 6)], grey.mix(0.5).filled())
            });
        for (c, pts) in comps.iter().enumerate() {
            let col = color(c);
            let w = self.model.weights()[c];
            chart
                .draw_series(LineSeries::new(pts.clone(), col.stroke_width(3)))
                .map_err(e)?
                .label(format!("component {c} (weight {w:.3})"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(3))
                });
        }
        chart
            .draw_series(LineSeries::new(mix, BLACK.stroke_width(2)))
            .map_err(e)?
            .label("mixture")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// Points of the `s`-sigma ellipse of a 2×2 covariance `[[a, b], [b, c]]` around `mu`.
pub fn ellipse(mu: (f64, f64), a: f64, b: f64, c: f64, s: f64) -> Vec<(f64, f64)> {
    let mid = 0.5 * (a + c);
    let rad = (0.25 * (a - c) * (a - c) + b * b).sqrt();
    let (l1, l2) = (mid + rad, (mid - rad).max(0.0));
    let (vx, vy) = if b.abs() > 1e-300 {
        let (x, y) = (b, l1 - a);
        let n = (x * x + y * y).sqrt();
        (x / n, y / n)
    } else if a >= c {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    (0..=120)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 120.0;
            let (p, q) = (s * l1.sqrt() * t.cos(), s * l2.sqrt() * t.sin());
            (mu.0 + p * vx - q * vy, mu.1 + p * vy + q * vx)
        })
        .collect()
}

/// 2-D: scatter coloured by predicted component, means as crosses, 1σ and 2σ ellipses.
pub struct Scatter<'a> {
    pub model: &'a GaussianMixture,
    /// The two plotted features of every row.
    pub points: Vec<(f64, f64)>,
    pub labels: Vec<usize>,
    pub features: (usize, usize),
    pub axis_names: (String, String),
    pub title: String,
}

impl Figure for Scatter<'_> {
    fn size(&self) -> (u32, u32) {
        (850, 800)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let (fi, fj) = self.features;
        let k = self.model.n_components();
        let covs = self.model.component_covariances();
        let ellipses: Vec<[Vec<(f64, f64)>; 2]> = (0..k)
            .map(|c| {
                let cov = &covs[c];
                let mu = (self.model.means()[[c, fi]], self.model.means()[[c, fj]]);
                let (a, b, cc) = (cov[[fi, fi]], cov[[fi, fj]], cov[[fj, fj]]);
                [ellipse(mu, a, b, cc, 1.0), ellipse(mu, a, b, cc, 2.0)]
            })
            .collect();
        let all = self
            .points
            .iter()
            .copied()
            .chain(ellipses.iter().flat_map(|e| e[1].iter().copied()));
        let (mut xl, mut xh, mut yl, mut yh) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in all {
            xl = xl.min(x);
            xh = xh.max(x);
            yl = yl.min(y);
            yh = yh.max(y);
        }
        let (x0, x1) = padded(xl, xh);
        let (y0, y1) = padded(yl, yh);
        let mut chart = chart_on(root, &self.title, 26, 70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(self.axis_names.0.as_str())
            .y_desc(self.axis_names.1.as_str())
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(e)?;
        for c in 0..k {
            let col = color(c);
            let w = self.model.weights()[c];
            chart
                .draw_series(
                    self.points
                        .iter()
                        .zip(&self.labels)
                        .filter(|(_, l)| **l == c)
                        .map(|(p, _)| Circle::new(*p, 3, col.mix(0.55).filled())),
                )
                .map_err(e)?
                .label(format!("component {c} (weight {w:.3})"))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, col.filled()));
        }
        for (c, el) in ellipses.iter().enumerate() {
            let col = color(c);
            chart
                .draw_series(LineSeries::new(el[0].clone(), col.stroke_width(2)))
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(el[1].clone(), col.mix(0.7).stroke_width(1)))
                .map_err(e)?;
        }
        chart
            .draw_series((0..k).map(|c| {
                Cross::new(
                    (self.model.means()[[c, fi]], self.model.means()[[c, fj]]),
                    9,
                    BLACK.stroke_width(3),
                )
            }))
            .map_err(e)?
            .label("means (ellipses: 1σ, 2σ)")
            .legend(|(x, y)| Cross::new((x + 8, y), 6, BLACK.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// The mean log-likelihood per EM iteration.
pub struct Convergence<'a> {
    pub lower_bounds: &'a [f64],
    pub title: String,
}

impl Figure for Convergence<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 500)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let t = self.lower_bounds.len();
        let lo = self
            .lower_bounds
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .lower_bounds
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = padded(lo, hi);
        let mut chart = chart_on(root, &self.title, 24, 80)
            .build_cartesian_2d(0.5..(t as f64 + 0.5), y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("EM iteration")
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_desc("mean log-likelihood")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(e)?;
        let pts: Vec<(f64, f64)> = self
            .lower_bounds
            .iter()
            .enumerate()
            .map(|(i, v)| ((i + 1) as f64, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color(0).stroke_width(2)))
            .map_err(e)?;
        chart
            .draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, 3, color(0).filled())),
            )
            .map_err(e)?;
        Ok(())
    }
}

/// The convergence figure's path next to `fig`: `FIG.convergence.EXT`.
pub fn convergence_path(fig: &Path) -> std::path::PathBuf {
    let ext = fig
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_else(|| "png".into());
    fig.with_extension(format!("convergence.{ext}"))
}

/// A column's header name, or "feature j" for files without a header.
fn axis_name(table: &crate::input::Table, j: usize) -> String {
    match table.columns().get(j) {
        Some(name) if name.parse::<usize>().is_err() && !name.is_empty() => name.clone(),
        _ => format!("feature {j}"),
    }
}

/// Picks the figure for the model's dimension and renders it.
pub fn plot_model(
    model: &GaussianMixture,
    table: &crate::input::Table,
    features: (usize, usize),
    title: &str,
    path: &Path,
) -> CliResult<()> {
    if model.n_features() == 1 {
        let fig = Histogram {
            model,
            x: table.column(0).unwrap_or_default(),
            title: title.to_string(),
            label: axis_name(table, 0),
        };
        return render(&fig, path);
    }
    let d = model.n_features();
    if features.0 >= d || features.1 >= d || features.0 == features.1 {
        return Err(CliError::usage(format!(
            "--features {},{}: need two different 0-based feature indices below {d}",
            features.0, features.1
        )));
    }
    let data = gaussmix::Data::from_slice(table.values(), table.n_rows(), table.n_cols())?;
    let labels = model.predict(&data)?.to_vec();
    let points = table
        .values()
        .chunks_exact(d)
        .map(|row| (row[features.0], row[features.1]))
        .collect();
    let fig = Scatter {
        model,
        points,
        labels,
        features,
        axis_names: (axis_name(table, features.0), axis_name(table, features.1)),
        title: title.to_string(),
    };
    render(&fig, path)
}

/// The criterion against k, one line per covariance type, the best point marked
/// (in the spirit of mclust's BIC plot).
pub struct SelectionPlot<'a> {
    pub selection: &'a gaussmix::select::Selection,
}

impl Figure for SelectionPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let sel = self.selection;
        let ok: Vec<_> = sel
            .candidates
            .iter()
            .filter_map(|c| c.criterion_value.map(|v| (c.k, c.covariance_type, v)))
            .collect();
        let kmin = ok.iter().map(|c| c.0).min().unwrap_or(1) as f64;
        let kmax = ok.iter().map(|c| c.0).max().unwrap_or(1) as f64;
        let lo = ok.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
        let hi = ok.iter().map(|c| c.2).fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = padded(lo, hi);
        let name = sel.criterion.as_str().to_uppercase();
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{name} by number of components (lower is better)"),
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d((kmin - 0.5)..(kmax + 0.5), y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("number of components k")
            .y_desc(name.as_str())
            .x_labels(((kmax - kmin) as usize + 1).min(20))
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(e)?;
        for (i, t) in gaussmix::CovarianceType::ALL.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = ok
                .iter()
                .filter(|c| c.1 == *t)
                .map(|c| (c.0 as f64, c.2))
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let col = color(i);
            chart
                .draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(e)?
                .label(t.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(3))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, col.filled())))
                .map_err(e)?;
        }
        if let Some(b) = sel
            .candidates
            .first()
            .and_then(|c| c.criterion_value.map(|v| (c.k as f64, v)))
        {
            chart
                .draw_series(std::iter::once(Circle::new(b, 11, BLACK.stroke_width(3))))
                .map_err(e)?
                .label(format!(
                    "best: k = {}, {}",
                    sel.candidates[0].k, sel.candidates[0].covariance_type
                ))
                .legend(|(x, y)| Circle::new((x + 9, y), 6, BLACK.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
