//! The 2-D figure: one panel of two features, the legend in a column beside it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend;
use super::panel::{self, PanelSpec};
use super::{e, font_scale, titled, Drawn, Figure, Layers, View};

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
        let root = titled(root, scale, &self.title)?;
        let entries = legend::data_entries(self.view, self.layers, false);
        let (data, side) = legend::split(&root, &entries, scale);
        let (fi, fj) = self.features;
        let got = panel::draw(
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
        legend::draw(side.as_ref(), None, &entries, scale)?;
        Ok(Drawn {
            marks: got.means,
            rims: got.rims,
        })
    }
}
