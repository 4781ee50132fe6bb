//! The 1-D figure: a histogram of the data, each weighted component density in its
//! colour, the mixture (dashed, so the components show through where they coincide
//! with it) on top, and a rug of the rows coloured by component.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Key};
use super::palette::color;
use super::{axis, e, font_scale, fs, px, titled, Drawn, Figure, Layers, Marks, View};

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
) -> Result<Marks, String>
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
    // A constant feature: bins of a thirtieth of the (padded) axis, not of nothing.
    let (hlo, hhi) = if hi > lo {
        (lo, hi)
    } else {
        let w = (xr.1 - xr.0) / 60.0;
        (lo - w, hi + w)
    };
    let (width, dens) = histogram(&x, hlo, hlo.max(hhi), sd_min);
    let lo = hlo;
    // The curves: 600 even steps, plus points around every component's mean so that a
    // component narrower than a step still shows its true peak.
    let steps = 600;
    let mut grid: Vec<f64> = (0..=steps)
        .map(|i| xr.0 + (xr.1 - xr.0) * i as f64 / steps as f64)
        .collect();
    for (c, cov) in covs.iter().enumerate() {
        let (mu, sd) = (view.model.means()[[c, j]], cov[[j, j]].sqrt());
        if sd * 50.0 < (xr.1 - xr.0) {
            grid.extend(
                (-40..=40)
                    .map(|t| mu + sd * t as f64 / 10.0)
                    .filter(|g| *g >= xr.0 && *g <= xr.1),
            );
        }
    }
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let steps = grid.len().saturating_sub(1);
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
    let finite_max =
        |v: &mut dyn Iterator<Item = f64>| v.filter(|v| v.is_finite()).fold(0.0, f64::max);
    let top = finite_max(&mut mix.iter().map(|p| p.1)).max(1e-300);
    // One very narrow component can peak far above everything else and squash it
    // flat: the axis then stops at the other components' top (below), and the cut
    // peaks are marked, with their heights.
    let peak_of: Vec<f64> = covs
        .iter()
        .enumerate()
        .map(|(c, cov)| view.model.weights()[c] / (std::f64::consts::TAU * cov[[j, j]]).sqrt())
        .collect();
    let hist_top = if show_hist {
        finite_max(&mut dens.iter().copied())
    } else {
        0.0
    };
    // A component is tall when its peak is over five times the median of the others'
    // peaks (with two components: the other's). The axis then follows the mixture of
    // the ordinary components (many overlapping ones add up far above any one of them,
    // and that is no reason to cut) or the histogram, whichever is higher.
    let tall = |c: usize| {
        let mut others: Vec<f64> = (0..k).filter(|o| *o != c).map(|o| peak_of[o]).collect();
        others.sort_by(f64::total_cmp);
        others
            .get(others.len() / 2)
            .is_some_and(|m| peak_of[c] > 5.0 * m)
    };
    let tall_set: Vec<bool> = (0..k).map(tall).collect();
    let ordinary_top = finite_max(&mut (0..=steps).map(|i| {
        (0..k)
            .filter(|c| !tall_set[*c])
            .map(|c| comps[c][i].1)
            .sum::<f64>()
    }));
    let cap = ordinary_top.max(hist_top);
    let cut = top > 1.5 * cap;
    let ymax = if cut {
        cap * 1.08
    } else {
        top.max(hist_top) * 1.08
    };
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
    let xo = axis::offset(xr.0, xr.1);
    let xz = xo.unwrap_or(0.0);
    let xf = move |v: &f64| axis::tick(*v - xz, xr.0 - xz, xr.1 - xz);
    let xname = axis::with_offset(&view.names[j], xo);
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
        mesh.x_desc(xname.as_str())
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
    let lw = px(scale, if compact { 2.0 } else { 3.0 });
    for (c, pts) in comps.iter().enumerate() {
        let col = color(c);
        let clipped: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, clip_y(p.1))).collect();
        // Only where the component has density to show: along the axis, the lines of
        // all components would pile up into one coloured bar (and long flat polygon
        // edges upset the bitmap backend's polygon fill).
        let floor = 0.003 * ymax;
        for run in clipped.split(|p| p.1 < floor).filter(|r| r.len() > 1) {
            if let (Some(first), Some(last)) = (run.first(), run.last()) {
                // The bitmap backend's polygon fill spills outside very thin polygons;
                // a spike a few pixels wide is its line alone.
                let wide = chart.backend_coord(last).0 - chart.backend_coord(first).0 > 6;
                if wide {
                    let mut poly = run.to_vec();
                    poly.push((last.0, 0.0));
                    poly.push((first.0, 0.0));
                    chart
                        .draw_series(std::iter::once(Polygon::new(poly, col.mix(0.12).filled())))
                        .map_err(e)?;
                }
            }
            for piece in unhooked(run, |p| chart.backend_coord(p)) {
                chart
                    .draw_series(LineSeries::new(piece, col.stroke_width(lw)))
                    .map_err(e)?;
            }
        }
    }
    if cut {
        let label_font = ("sans-serif", fs(scale, if compact { 10.0 } else { 13.0 }));
        let tall: Vec<(usize, f64)> = peak_of
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, peak)| *peak > ymax)
            .collect();
        // Heights as text only while they cannot pile up on each other.
        let labelled = tall.len() <= 4;
        for (c, peak) in tall {
            let mu = view.model.means()[[c, j]];
            let text = if labelled {
                format!("peak {}", axis::tick(peak, 0.0, peak))
            } else {
                String::new()
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((mu, ymax))
                        + TriangleMarker::new((0, 6), 5, color(c).filled())
                        + Text::new(text, (8, 2), label_font.into_font().color(&BLACK)),
                ))
                .map_err(e)?;
        }
    }
    let mix_clipped: Vec<(f64, f64)> = mix.iter().map(|p| (p.0, clip_y(p.1))).collect();
    for piece in unhooked(&mix_clipped, |p| chart.backend_coord(p)) {
        chart
            .draw_series(DashedLineSeries::new(
                piece,
                8,
                5,
                // Thinner than the components, so that where one of them is the whole
                // mixture its colour still shows on both sides.
                BLACK.stroke_width(px(scale, 1.0)),
            ))
            .map_err(e)?;
    }
    if rug {
        // One tick per pixel column that has rows, in the colour of the component most
        // of them belong to: every row counts, and 200,000 rows draw as fast as 200.
        let (r0, r1) = (-0.08 * ymax, -0.015 * ymax);
        let cols = chart.plotting_area().dim_in_pixel().0.max(1) as usize;
        let mut counts = vec![0u32; cols * k];
        for (i, v) in x.iter().enumerate() {
            let t = ((v - xr.0) / (xr.1 - xr.0) * cols as f64).floor();
            if t >= 0.0 && (t as usize) < cols {
                counts[t as usize * k + view.labels[i]] += 1;
            }
        }
        chart
            .draw_series(counts.chunks_exact(k).enumerate().filter_map(|(t, per)| {
                let (top, m) = per.iter().enumerate().max_by_key(|p| *p.1)?;
                let v = xr.0 + (t as f64 + 0.5) / cols as f64 * (xr.1 - xr.0);
                (*m > 0).then(|| PathElement::new(vec![(v, r0), (v, r1)], color(top).mix(0.8)))
            }))
            .map_err(e)?;
    }
    let mut marks = Vec::new();
    for (c, cov) in covs.iter().enumerate() {
        let mu = view.model.means()[[c, j]];
        let peak = view.model.weights()[c] / (std::f64::consts::TAU * cov[[j, j]]).sqrt();
        if mu >= xr.0 && mu <= xr.1 && peak.is_finite() {
            marks.push((c, chart.backend_coord(&(mu, clip_y(peak) * 0.5))));
        }
    }
    Ok(marks)
}

/// `line` cut where it turns back sharply in pixels (a narrow peak), each piece
/// sharing its end point with the next: the bitmap backend joins thick lines with a
/// mitre that, at such a turn, shoots across the figure.
pub fn unhooked(
    line: &[(f64, f64)],
    px: impl Fn(&(f64, f64)) -> (i32, i32),
) -> Vec<Vec<(f64, f64)>> {
    let mut pieces = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut last_dir: Option<(i64, i64)> = None;
    let mut last_px: Option<(i32, i32)> = None;
    for p in line {
        let q = px(p);
        if let Some(lp) = last_px {
            let d = ((q.0 - lp.0) as i64, (q.1 - lp.1) as i64);
            if d == (0, 0) {
                continue; // Same pixel: nothing to draw, no direction.
            }
            if let Some(ld) = last_dir {
                // Cut at turns sharper than about 115°; pixel rounding makes smaller
                // wiggles that the mitre handles.
                let dot = (ld.0 * d.0 + ld.1 * d.1) as f64;
                let norms = (((ld.0 * ld.0 + ld.1 * ld.1) * (d.0 * d.0 + d.1 * d.1)) as f64).sqrt();
                if dot < -0.4 * norms {
                    if let Some(end) = cur.last().copied() {
                        pieces.push(std::mem::replace(&mut cur, vec![end]));
                    }
                }
            }
            last_dir = Some(d);
        }
        last_px = Some(q);
        cur.push(*p);
    }
    if cur.len() > 1 {
        pieces.push(cur);
    }
    pieces
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
        let root = titled(root, scale, &self.title)?;
        let mut entries = vec![Entry::new(Key::Line(BLACK, 1, true), "mixture")];
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
        entries.extend(legend::components(
            self.view.model.weights().as_slice().unwrap_or(&[]),
        ));
        let (data, side) = legend::split(&root, &entries, scale);
        let marks = draw_marginal(
            &data,
            self.view,
            0,
            self.view.range(0),
            self.layers,
            false,
            scale,
        )?;
        legend::draw(side.as_ref(), None, &entries, scale)?;
        Ok(Drawn {
            marks,
            ..Drawn::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_where_they_turn_back() {
        // Up, then straight down (a spike), then flat.
        let line = [(0.0, 0.0), (1.0, 10.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)];
        let pieces = unhooked(&line, |p| ((p.0 * 10.0) as i32, -(p.1 * 10.0) as i32));
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[0], vec![(0.0, 0.0), (1.0, 10.0)]);
        assert_eq!(pieces[1][0], (1.0, 10.0));
        // A gentle curve stays whole.
        let arc: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64, (i as f64 / 10.0).sin()))
            .collect();
        assert_eq!(
            unhooked(&arc, |p| ((p.0 * 10.0) as i32, -(p.1 * 100.0) as i32)).len(),
            1
        );
    }

    #[test]
    fn histogram_bins_resolve_the_narrowest_component() {
        let x: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
        let (w, dens) = histogram(&x, 0.0, 9.99, 0.15);
        assert!(w <= 0.1 + 1e-12, "{w}");
        let area: f64 = dens.iter().map(|d| d * w).sum();
        assert!((area - 1.0).abs() < 1e-9);
        // Few rows: few bins.
        let (_, dens) = histogram(&x[..50], 0.0, 0.49, 0.001);
        assert_eq!(dens.len(), 10);
    }
}
