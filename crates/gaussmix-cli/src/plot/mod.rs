//! Figures: the 1-D density figure, the 2-D scatter with ellipses (optionally with
//! classification uncertainty and density contours), the pairs matrix over several
//! features, the convergence curve and the criterion-by-k plot. PNG or SVG by
//! extension, written atomically; the text is drawn with an embedded DejaVu Sans so
//! no system font is needed.
//!
//! The path of the data: [`View`] (model, rows, their classification) → a figure
//! ([`density::Density`], [`scatter::Scatter`], [`pairs::Pairs`]) whose panels are
//! drawn by [`panel`] → [`render`]. Colours come from [`palette`], axis ranges and
//! tick labels from [`axis`].

use std::path::{Path, PathBuf};
use std::sync::Once;

use gaussmix::GaussianMixture;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{CliError, CliResult};
use crate::output::with_temp_file;

pub mod axis;
pub mod contour;
pub mod convergence;
pub mod density;
pub mod legend;
pub mod pairs;
pub mod palette;
pub mod panel;
pub mod scatter;
pub mod selection;

pub use convergence::Convergence;
pub use selection::SelectionPlot;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to be valid; a failure would only lose text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Where a figure put things, for the tests: each component's mean (or peak, in 1-D)
/// as a pixel position, per panel.
/// Component (or type) index and pixel position of each mark a panel drew.
pub type Marks = Vec<(usize, (i32, i32))>;

#[derive(Debug, Default, Clone)]
pub struct Drawn {
    #[cfg_attr(not(test), allow(dead_code))] // read by the image tests
    pub marks: Marks,
    /// A point on each component's 1σ ellipse, per panel.
    #[cfg_attr(not(test), allow(dead_code))]
    pub rims: Marks,
}

/// Something that can be drawn on any plotters backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<Drawn, String>
    where
        DB::ErrorType: 'static;
    /// The size when the user asks for none.
    fn default_size(&self) -> (u32, u32);
}

/// The figure flags every command shares: `--title`, `--width`, `--height`.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub title: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Frame {
    fn size(&self, fig: &impl Figure) -> (u32, u32) {
        let (w, h) = fig.default_size();
        (self.width.unwrap_or(w), self.height.unwrap_or(h))
    }
}

/// Smallest and largest `--width`/`--height` accepted, in pixels.
pub const MIN_SIDE: u32 = 200;
pub const MAX_SIDE: u32 = 10_000;

/// Checks `--width`/`--height` before any work is done.
pub fn check_frame(f: &Frame) -> CliResult<()> {
    for (flag, v) in [("--width", f.width), ("--height", f.height)] {
        if let Some(v) = v {
            if !(MIN_SIDE..=MAX_SIDE).contains(&v) {
                return Err(CliError::usage(format!(
                    "{flag} {v}: give a size in pixels from {MIN_SIDE} to {MAX_SIDE}"
                )));
            }
        }
    }
    Ok(())
}

/// Renders `fig` to `path` (PNG or SVG by extension), atomically.
pub fn render(fig: &impl Figure, frame: &Frame, path: &Path) -> CliResult<()> {
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
    let size = frame.size(fig);
    with_temp_file(path, |tmp| {
        let res = if ext == "png" {
            let root = BitMapBackend::new(tmp, size).into_drawing_area();
            fig.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        } else {
            let root = SVGBackend::new(tmp, size).into_drawing_area();
            fig.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        };
        res.map_err(|e| CliError::data(format!("drawing failed: {e}")))
    })
}

/// Renders `fig` into an RGB pixel buffer (the image tests look at it).
#[cfg(test)]
pub fn render_rgb(fig: &impl Figure, size: (u32, u32)) -> (Vec<u8>, Drawn) {
    register_font();
    let mut buf = vec![0u8; (size.0 * size.1 * 3) as usize];
    let drawn = {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        let d = fig.draw(&root).expect("drawing");
        root.present().expect("present");
        d
    };
    (buf, drawn)
}

pub(crate) fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}

/// Font sizes, scaled with the figure so a small figure is not all text.
pub(crate) fn font_scale(root_px: (u32, u32)) -> f64 {
    (root_px.0.min(root_px.1) as f64 / 800.0).clamp(0.6, 5.0)
}

/// A line or marker size of `px` at scale 1, scaled with the figure.
pub(crate) fn px(scale: f64, px: f64) -> u32 {
    (px * scale).round().max(1.0) as u32
}

/// The title's font: `24 · scale`, smaller when the title would not fit the width.
pub(crate) fn title_font(scale: f64, width: u32, title: &str) -> (&'static str, u32) {
    let chars = title.chars().count().max(1) as f64;
    let fit = 1.6 * width as f64 / chars;
    (
        "sans-serif",
        (24.0 * scale).min(fit).max(8.0).round() as u32,
    )
}

/// `title` as it fits `width` pixels at the font [`title_font`] chose: whole, or cut
/// with "…" when even the smallest font is too wide.
pub(crate) fn fitted_title(scale: f64, width: u32, title: &str) -> String {
    let size = title_font(scale, width, title).1 as f64;
    let room = (width as f64 / (0.6 * size)).floor() as usize;
    if title.chars().count() <= room {
        title.to_string()
    } else {
        let mut t: String = title.chars().take(room.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `root` with the title drawn at its top, a little below the edge, and the area
/// under it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    scale: f64,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, String>
where
    DB::ErrorType: 'static,
{
    let w = root.dim_in_pixel().0;
    let text = fitted_title(scale, w, title);
    let font = title_font(scale, w, &text);
    let top = (6.0 * scale).round() as u32;
    root.margin(top, 0, 0, 0).titled(&text, font).map_err(e)
}

pub(crate) fn fs(scale: f64, px: f64) -> u32 {
    (px * scale).round().max(8.0) as u32
}

/// What the data figures draw: a model, the rows (only the model's features, in its
/// order) with their names, and each row's predicted component and classification
/// uncertainty (1 − its largest responsibility).
pub struct View<'a> {
    pub model: &'a GaussianMixture,
    pub rows: &'a [f64],
    pub names: Vec<String>,
    pub labels: Vec<usize>,
    pub uncertainty: Vec<f64>,
}

impl<'a> View<'a> {
    /// Classifies the rows by `model`.
    pub fn new(
        model: &'a GaussianMixture,
        rows: &'a [f64],
        names: Vec<String>,
    ) -> CliResult<View<'a>> {
        let d = model.n_features();
        let n = rows.len() / d.max(1);
        let data = gaussmix::Data::from_slice(rows, n, d)?;
        for (j, name) in names.iter().enumerate() {
            let col = (0..n).map(|i| rows[i * d + j]);
            if let Some((lo, hi)) = axis::extent(col) {
                let span = hi - lo;
                if span.is_nan() || span > axis::MAX_SPAN {
                    return Err(CliError::data(format!(
                        "{name} spans {lo:e} to {hi:e}: too wide to draw (tick distances \
                         would overflow); rescale it or leave the outlying rows out"
                    )));
                }
            }
        }
        let proba = model.predict_proba(&data)?;
        let mut labels = Vec::with_capacity(n);
        let mut uncertainty = Vec::with_capacity(n);
        for r in proba.rows() {
            let (mut best, mut p) = (0, f64::NEG_INFINITY);
            for (c, v) in r.iter().enumerate() {
                if *v > p {
                    (best, p) = (c, *v);
                }
            }
            labels.push(best);
            uncertainty.push((1.0 - p).max(0.0));
        }
        Ok(View {
            model,
            rows,
            names,
            labels,
            uncertainty,
        })
    }

    pub fn d(&self) -> usize {
        self.model.n_features()
    }

    pub fn n(&self) -> usize {
        self.labels.len()
    }

    pub fn value(&self, row: usize, j: usize) -> f64 {
        self.rows[row * self.d() + j]
    }

    /// The axis range of feature `j`: the data, and the means of components with some
    /// weight (a dead component far away would squash the data into a corner), padded.
    pub fn range(&self, j: usize) -> (f64, f64) {
        let w = self.model.weights();
        let means = (0..self.model.n_components())
            .filter(|c| w[*c] >= MIN_DRAWN_WEIGHT)
            .map(|c| self.model.means()[[c, j]]);
        let col = || (0..self.n()).map(|i| self.value(i, j));
        let data = axis::extent(col()).unwrap_or((0.0, 1.0));
        let (lo, hi) = match axis::extent(col().chain(means)) {
            // Means so far off that the span overflows: the data alone.
            Some((lo, hi)) if hi - lo <= axis::MAX_SPAN => (lo, hi),
            _ => data,
        };
        axis::padded(lo, hi)
    }
}

/// Components lighter than this do not widen the axes (their means are still drawn
/// when inside).
pub const MIN_DRAWN_WEIGHT: f64 = 1e-3;

/// What to draw on top of the points.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layers {
    /// Point size and shade by classification uncertainty.
    pub uncertainty: bool,
    /// The mixture's log-density contours on 2-D panels.
    pub contours: bool,
    /// 1-D: the densities only, no histogram or rug.
    pub density_only: bool,
}

/// What `plot` and `fit --plot` draw: which features, which figure, which layers.
#[derive(Debug, Clone, Default)]
pub struct PlotSpec {
    /// Chosen features (0-based), or none for the default (the first two, or all in
    /// a pairs matrix when there are more than two).
    pub features: Option<Vec<usize>>,
    /// A pairs matrix even for two features.
    pub pairs: bool,
    /// Most features the default pairs matrix shows (`None`: [`MAX_FEATURES`]).
    pub max_features: Option<usize>,
    pub layers: Layers,
    pub frame: Frame,
}

/// Default for `--max-features`.
pub const MAX_FEATURES: usize = 10;

/// A column's header name, or `xj` (as the fit's summary says) without a header.
pub fn axis_name(table: &crate::input::Table, j: usize) -> String {
    match table.feature_names().and_then(|n| n.get(j)) {
        Some(name) if !name.is_empty() => name.clone(),
        // As the fit's summary names them.
        _ => format!("x{j}"),
    }
}

/// The figure's title: the user's, or a description of the model.
pub fn default_title(model: &GaussianMixture) -> String {
    format!(
        "Gaussian mixture: {}, {} covariance",
        crate::input::plural(model.n_components(), "component", "components"),
        model.covariance_type()
    )
}

/// Picks the figure for the model's dimension and the spec, and renders it. Returns
/// notes for the user (features left out of a pairs matrix).
pub fn plot_model(
    model: &GaussianMixture,
    table: &crate::input::Table,
    spec: &PlotSpec,
    path: &Path,
) -> CliResult<Vec<String>> {
    let d = model.n_features();
    let names: Vec<String> = (0..d).map(|j| axis_name(table, j)).collect();
    let view = View::new(model, table.values(), names)?;
    let title = spec
        .frame
        .title
        .clone()
        .unwrap_or_else(|| default_title(model));
    check_spec(spec, d)?;
    let mut notes = Vec::new();
    if d == 1 {
        let fig = density::Density {
            view: &view,
            title,
            layers: spec.layers,
        };
        render(&fig, &spec.frame, path)?;
        return Ok(notes);
    }
    let features = match &spec.features {
        Some(f) => f.clone(),
        None if d == 2 => vec![0, 1],
        None => {
            let m = spec.max_features.unwrap_or(MAX_FEATURES);
            if d > m {
                notes.push(format!(
                    "the pairs plot shows the first {m} of {d} features; choose others with \
                     --features a,b,c or show more with --max-features {d}"
                ));
            }
            (0..d.min(m)).collect()
        }
    };
    if features.len() == 2 && !spec.pairs {
        let fig = scatter::Scatter {
            view: &view,
            features: (features[0], features[1]),
            title,
            layers: spec.layers,
        };
        render(&fig, &spec.frame, path)?;
    } else {
        let fig = pairs::Pairs {
            view: &view,
            features,
            title,
            layers: spec.layers,
        };
        render(&fig, &spec.frame, path)?;
    }
    Ok(notes)
}

/// Refuses what the spec cannot draw for `d` features: features out of range or
/// repeated, 2-D flags for one feature, `--density-only` for more, `--max-features`
/// where no default pairs matrix is drawn. Called before any fit.
pub fn check_spec(spec: &PlotSpec, d: usize) -> CliResult<()> {
    let l = spec.layers;
    let two_d_only = [
        ("--features", spec.features.is_some()),
        ("--pairs", spec.pairs),
        ("--uncertainty", l.uncertainty),
        ("--contours", l.contours),
        ("--max-features", spec.max_features.is_some()),
    ];
    if d == 1 {
        if let Some((flag, _)) = two_d_only.iter().find(|f| f.1) {
            return Err(CliError::usage(format!(
                "{flag} draws on 2-D panels, and this model has one feature; for 1-D there \
                 is --density-only"
            )));
        }
        return Ok(());
    }
    if l.density_only {
        return Err(CliError::usage(
            "--density-only is for models of one feature (the diagonal of a pairs matrix \
             already shows densities only)",
        ));
    }
    if spec.max_features.is_some() && (d == 2 || spec.features.is_some()) {
        return Err(CliError::usage(
            "--max-features limits the default pairs matrix (more than two features and no \
             --features); it does not apply here",
        ));
    }
    if let Some(f) = &spec.features {
        if let Some(bad) = f.iter().find(|j| **j >= d) {
            return Err(CliError::usage(format!(
                "--features: no feature {bad}; the model has {d}"
            )));
        }
        let mut seen = vec![false; d];
        for j in f {
            if std::mem::replace(&mut seen[*j], true) {
                return Err(CliError::usage(format!(
                    "--features: feature {j} is named twice; name each feature once"
                )));
            }
        }
        if f.len() < 2 {
            return Err(CliError::usage(
                "--features: name at least two features (a pair, or more for a pairs matrix)",
            ));
        }
    }
    Ok(())
}

/// The convergence figure's path next to `fig`: `FIG.convergence.EXT`.
pub fn convergence_path(fig: &Path) -> PathBuf {
    let ext = fig
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_else(|| "png".into());
    fig.with_extension(format!("convergence.{ext}"))
}

#[cfg(test)]
mod tests;
