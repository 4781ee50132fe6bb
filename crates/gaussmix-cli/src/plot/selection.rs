//! The criterion against k, one line per covariance type in fixed colours and
//! markers, the winner circled (in the spirit of mclust's BIC plot). A family far
//! worse than the others would squash them: the y-axis keeps to the useful range and
//! points above it are drawn as triangles on the top edge, or `--log-scale` shows
//! everything as the distance above the best.

use gaussmix::select::Selection;
use gaussmix::CovarianceType;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Key};
use super::palette::{marker, Shape, TYPE_COLORS};
use super::{axis, e, font_scale, fs, titled, Drawn, Figure, Marks};

pub struct SelectionPlot<'a> {
    pub selection: &'a Selection,
    pub title: Option<String>,
    pub log_scale: bool,
}

const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Triangle,
    Shape::Square,
    Shape::Diamond,
];

/// The upper end of the useful range. Sorted, the values of a family far worse than
/// the rest sit beyond a gap: the first gap (above at least three values) wider than
/// twice everything below it and than a quarter of the whole span. The range stops a
/// little above that gap's lower side; without such a gap (an ordinary trend, however
/// steep) it holds everything.
pub fn useful_top(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f64::total_cmp);
    let (best, worst) = (v[0], v[v.len() - 1]);
    let total = worst - best;
    for w in v.windows(2).skip(2) {
        let (below, gap) = (w[0] - best, w[1] - w[0]);
        if gap > 2.0 * below && gap > 0.25 * total {
            return w[0] + 0.1 * below;
        }
    }
    worst
}

struct Series {
    t: usize,
    pts: Vec<(f64, f64)>,
}

impl Figure for SelectionPlot<'_> {
    fn default_size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<Drawn, String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let scale = font_scale(root.dim_in_pixel());
        let sel = self.selection;
        let name = sel.criterion.as_str().to_uppercase();
        let title = self
            .title
            .clone()
            .unwrap_or_else(|| format!("{name} by number of components (lower is better)"));
        let root = titled(root, scale, &title)?;
        let series: Vec<Series> = CovarianceType::ALL
            .iter()
            .enumerate()
            .filter_map(|(t, ty)| {
                let mut pts: Vec<(f64, f64)> = sel
                    .candidates
                    .iter()
                    .filter(|c| c.covariance_type == *ty)
                    .filter_map(|c| c.criterion_value.map(|v| (c.k as f64, v)))
                    .filter(|p| p.1.is_finite())
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (!pts.is_empty()).then_some(Series { t, pts })
            })
            .collect();
        let values: Vec<f64> = series
            .iter()
            .flat_map(|s| s.pts.iter().map(|p| p.1))
            .collect();
        let (kmin, kmax) = axis::extent(series.iter().flat_map(|s| s.pts.iter().map(|p| p.0)))
            .unwrap_or((1.0, 1.0));
        let (best_v, worst) = axis::extent(values.iter().copied()).unwrap_or((0.0, 1.0));
        let winner = sel
            .candidates
            .first()
            .and_then(|c| c.criterion_value.map(|v| (c.k, c.covariance_type, v)));

        let mut entries: Vec<Entry> = series
            .iter()
            .map(|s| {
                Entry::new(
                    Key::Line(TYPE_COLORS[s.t], 3, false),
                    CovarianceType::ALL[s.t].as_str(),
                )
            })
            .collect();
        if let Some((k, t, _)) = winner {
            entries.push(Entry::new(Key::Ring, format!("best: k = {k}, {t}")));
        }
        let top = if self.log_scale {
            worst
        } else {
            useful_top(&values)
        };
        let clipped = values.iter().filter(|v| **v > top).count();
        if clipped > 0 {
            entries.push(Entry::new(
                Key::Off,
                format!("{clipped} off the scale (--log-scale shows all)"),
            ));
        }
        let (data, side) = legend::split(&root, &entries, scale);
        let xr = (kmin - 0.5)..(kmax + 0.5);
        let mut b = ChartBuilder::on(&data);
        b.margin(15)
            .x_label_area_size(fs(scale, 50.0))
            .y_label_area_size(fs(scale, 95.0));
        let xlabels = ((kmax - kmin) as usize + 1).min(20);
        let marks = if self.log_scale {
            // Distance above the best, plus one, on a log axis.
            let lift = |v: f64| v - best_v + 1.0;
            let chart = b
                .build_cartesian_2d(xr, (1.0..lift(worst) * 1.5).log_scale())
                .map_err(e)?;
            lines(
                chart,
                &series,
                winner.map(|w| (w.0 as f64, lift(w.2))),
                &lift,
                f64::INFINITY,
                &format!("{name} − best + 1 (log scale)"),
                xlabels,
                scale,
            )?
        } else {
            let (y0, y1) = axis::padded(best_v, top);
            let chart = b.build_cartesian_2d(xr, y0..y1).map_err(e)?;
            lines(
                chart,
                &series,
                winner.map(|w| (w.0 as f64, w.2)),
                &|v| v,
                top,
                &name,
                xlabels,
                scale,
            )?
        };
        legend::draw(side.as_ref(), Some("covariance"), &entries, scale)?;
        Ok(Drawn {
            marks,
            ..Drawn::default()
        })
    }
}

/// Draws the series on `chart` (y values through `f`), clipping at `top`.
#[allow(clippy::too_many_arguments)]
fn lines<'a, DB, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    series: &[Series],
    winner: Option<(f64, f64)>,
    f: &dyn Fn(f64) -> f64,
    top: f64,
    y_desc: &str,
    xlabels: usize,
    scale: f64,
) -> Result<Marks, String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let y_top = f(top);
    let yr = chart.y_range();
    let (ylo, yhi) = (yr.start, yr.end);
    let ytick = move |v: &f64| axis::tick(*v, ylo, yhi);
    chart
        .configure_mesh()
        .x_desc("number of components k")
        .y_desc(y_desc)
        .x_labels(xlabels)
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .y_label_formatter(&ytick)
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .label_style(("sans-serif", fs(scale, 16.0)))
        .axis_desc_style(("sans-serif", fs(scale, 18.0)))
        .draw()
        .map_err(e)?;
    let y_edge = y_top.min(yhi);
    let mut marks = Vec::new();
    for s in series {
        let col = TYPE_COLORS[s.t];
        let pts: Vec<(f64, f64)> = s.pts.iter().map(|p| (p.0, f(p.1))).collect();
        // The line runs between neighbours both on the scale.
        for w in pts.windows(2) {
            if w[0].1 <= y_top && w[1].1 <= y_top {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![w[0], w[1]],
                        col.stroke_width(2),
                    )))
                    .map_err(e)?;
            }
        }
        for p in &pts {
            if p.1 <= y_top {
                chart
                    .draw_series(std::iter::once(marker(*p, SHAPES[s.t], 5, col.filled())))
                    .map_err(e)?;
            } else {
                // Off the scale: the type's marker on the top edge, under an arrow, each
                // type a little to the side so that they do not cover each other.
                let at = (p.0 + (s.t as f64 - 1.5) * 0.12, y_edge);
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at(at)
                            + PathElement::new(vec![(0, 4), (0, 14)], BLACK.stroke_width(1))
                            + Polygon::new(vec![(0, 0), (3, 5), (-3, 5)], BLACK.filled()),
                    ))
                    .map_err(e)?;
                chart
                    .draw_series([
                        marker(at, SHAPES[s.t], 4, col.filled()),
                        marker(at, SHAPES[s.t], 4, BLACK.stroke_width(1)),
                    ])
                    .map_err(e)?;
            }
        }
        // The type's best point on the scale.
        if let Some(p) = pts
            .iter()
            .filter(|p| p.1 <= y_top)
            .min_by(|a, b| a.1.total_cmp(&b.1))
        {
            marks.push((s.t, chart.backend_coord(p)));
        }
    }
    if let Some(w) = winner {
        chart
            .draw_series(std::iter::once(Circle::new(w, 12, BLACK.stroke_width(3))))
            .map_err(e)?;
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_far_off_family_is_clipped_but_a_tight_set_is_not() {
        let mut v: Vec<f64> = (0..30).map(|i| 1000.0 + i as f64).collect();
        v.extend((0..10).map(|i| 9000.0 + i as f64));
        let top = useful_top(&v);
        assert!(top < 1100.0 && top > 1029.0, "{top}");
        let tight: Vec<f64> = (0..10).map(|i| 5.0 + i as f64).collect();
        assert_eq!(useful_top(&tight), 14.0);
        // A steep but ordinary trend (BIC falling with k) is not cut.
        let trend = [1000.0, 700.0, 520.0, 430.0, 400.0, 395.0, 394.0, 396.0];
        assert_eq!(useful_top(&trend), 1000.0);
        assert_eq!(useful_top(&[]), 1.0);
    }
}
