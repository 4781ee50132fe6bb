//! The pairs matrix (mclust's default for more than two features): for every pair of
//! chosen features a scatter-and-ellipse panel, the 1-D marginal densities on the
//! diagonal, the feature names along the bottom and left margins.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::legend;
use super::panel::{self, PanelSpec};
use super::{density, e, font_scale, fs, titled, Drawn, Figure, Layers, View};

pub struct Pairs<'a> {
    pub view: &'a View<'a>,
    pub features: Vec<usize>,
    pub title: String,
    pub layers: Layers,
}

impl Figure for Pairs<'_> {
    fn default_size(&self) -> (u32, u32) {
        let m = self.features.len() as u32;
        let side = (m * 200).clamp(700, 2200);
        (side + 220, side + 40)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<Drawn, String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(e)?;
        let m = self.features.len();
        let (w, h) = root.dim_in_pixel();
        let scale = font_scale((w, h));
        let root = titled(root, scale, &self.title)?;
        let entries = legend::data_entries(self.view, self.layers, true);
        let (grid_area, side) = legend::split(&root, &entries, scale);
        // Panels shrink with m; their text shrinks with them, within limits.
        let (gw, gh) = grid_area.dim_in_pixel();
        // Marks and text follow the panels' size, not the figure's: a large matrix of
        // many features has small panels.
        let panel_scale = (gw.min(gh) as f64 / m as f64 / 260.0).clamp(0.5, 1.5);
        let margin = fs(panel_scale, 26.0);
        let (left, rest) = grid_area.split_horizontally(margin);
        let (cells, bottom) = rest.split_vertically(gh.saturating_sub(margin));
        let panels = cells.split_evenly((m, m));
        let ranges: Vec<(f64, f64)> = self.features.iter().map(|j| self.view.range(*j)).collect();
        let (mut marks, mut rims) = (Vec::new(), Vec::new());
        for (p, area) in panels.iter().enumerate() {
            let (r, c) = (p / m, p % m);
            if r == c {
                density::draw_marginal(
                    area,
                    self.view,
                    self.features[c],
                    ranges[c],
                    Layers {
                        density_only: true,
                        ..self.layers
                    },
                    true,
                    panel_scale,
                )?;
            } else {
                let got = panel::draw(
                    area,
                    self.view,
                    &PanelSpec {
                        fi: self.features[c],
                        fj: self.features[r],
                        xr: ranges[c],
                        yr: ranges[r],
                        layers: self.layers,
                        compact: true,
                        scale: panel_scale,
                    },
                )?;
                marks.extend(got.means);
                rims.extend(got.rims);
            }
        }
        // Feature names: under each column, and beside each row (rotated).
        let name_font = ("sans-serif", fs(panel_scale, 16.0)).into_font();
        let (cw, ch) = cells.dim_in_pixel();
        let (pw, ph) = (cw as i32 / m as i32, ch as i32 / m as i32);
        for (i, j) in self.features.iter().enumerate() {
            let name = self.view.names[*j].clone();
            bottom
                .draw(&Text::new(
                    name.clone(),
                    (pw * i as i32 + pw / 2, margin as i32 / 2),
                    name_font
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(e)?;
            left.draw(&Text::new(
                name,
                (margin as i32 / 2, ph * i as i32 + ph / 2),
                name_font
                    .clone()
                    .transform(FontTransform::Rotate270)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(e)?;
        }
        legend::draw(side.as_ref(), None, &entries, scale)?;
        Ok(Drawn { marks, rims })
    }
}
