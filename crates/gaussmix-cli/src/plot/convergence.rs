//! The mean log-likelihood per EM iteration.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette::color;
use super::{axis, e, fitted_title, font_scale, fs, title_font, Drawn, Figure};

pub struct Convergence<'a> {
    pub lower_bounds: &'a [f64],
    pub title: String,
}

impl Figure for Convergence<'_> {
    fn default_size(&self) -> (u32, u32) {
        (800, 500)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<Drawn, String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let scale = font_scale(root.dim_in_pixel());
        let t = self.lower_bounds.len();
        let (lo, hi) = axis::extent(self.lower_bounds.iter().copied()).unwrap_or((0.0, 1.0));
        let (y0, y1) = axis::padded(lo, hi);
        let mut chart = ChartBuilder::on(root)
            .caption(
                fitted_title(scale, root.dim_in_pixel().0, &self.title),
                title_font(scale, root.dim_in_pixel().0, &self.title),
            )
            .margin(20)
            .x_label_area_size(fs(scale, 50.0))
            .y_label_area_size(fs(scale, 85.0))
            .build_cartesian_2d(0.5..(t as f64 + 0.5), y0..y1)
            .map_err(e)?;
        let ytick = move |v: &f64| axis::tick(*v, y0, y1);
        chart
            .configure_mesh()
            .x_desc("EM iteration")
            .x_labels(t.clamp(2, 12))
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_label_formatter(&ytick)
            .y_desc("mean log-likelihood")
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .label_style(("sans-serif", fs(scale, 16.0)))
            .axis_desc_style(("sans-serif", fs(scale, 18.0)))
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
        Ok(Drawn::default())
    }
}
