//! The 2-D figure: one panel of two features, the legend in a column beside it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Key};
use super::panel::{self, PanelSpec};
use super::{e, font_scale, fs, Drawn, Figure, Layers, View};

pub struct Scatter<'a> {
    pub view: &'a View<'a>,
    pub features: (usize, usize),
    pub title: String,
    pub layers: Layers,
}

impl Figure for Scatter<'_> {
    fn default_size(&self) -> (u32, u32) {
        (1000, 800)
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
        let ellipses = if self.layers.contours {
            "ellipses: 1σ"
        } else {
            "ellipses: 1σ, 2σ"
        };
        entries.push(Entry::new(Key::Line(BLACK, 2, false), ellipses));
        if self.layers.contours {
            entries.push(Entry::new(
                Key::Line(RGBColor(45, 45, 45), 1, false),
                "log-density contours",
            ));
        }
        if self.layers.uncertainty {
            entries.push(Entry::new(
                Key::Component(0),
                "larger, darker: less certain",
            ));
        } else if self.view.n() > panel::MAX_POINTS {
            entries.push(Entry::new(
                Key::Patch(RGBColor(120, 120, 120).mix(0.6)),
                "2-D histogram of the rows",
            ));
        }
        let longest = entries
            .iter()
            .map(|x| x.text.chars().count())
            .max()
            .unwrap_or(10);
        let (data, side) = legend::split(&root, longest, scale);
        let (fi, fj) = self.features;
        let marks = panel::draw(
            &data,
            self.view,
            &PanelSpec {
                fi,
                fj,
                xr: self.view.range(fi),
                yr: self.view.range(fj),
                layers: self.layers,
                compact: false,
                scale,
            },
        )?;
        legend::draw(&side, Some("component"), &entries, scale)?;
        Ok(Drawn { marks })
    }
}
