//! The legend, drawn in a column of its own beside the data so it hides nothing.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette::{color, marker, shape};
use super::{e, fs, px, Layers, View};

/// What a legend line shows before its text.
pub enum Key {
    /// Component `k`'s marker.
    Component(usize),
    /// A line of this colour and width, dashed or solid.
    Line(RGBColor, u32, bool),
    /// A filled box (the histogram).
    Patch(RGBAColor),
    /// An open ring (the winner on the criterion plot).
    Ring,
    /// An arrow up (points off the scale).
    Off,
}

pub struct Entry {
    pub key: Key,
    pub text: String,
}

impl Entry {
    pub fn new(key: Key, text: impl Into<String>) -> Entry {
        Entry {
            key,
            text: text.into(),
        }
    }
}

/// Draws `entries` top-down in `area`; what does not fit is summed up in a last line.
pub fn draw<DB: DrawingBackend>(
    area: Option<&DrawingArea<DB, Shift>>,
    heading: Option<&str>,
    entries: &[Entry],
    scale: f64,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let Some(area) = area else {
        return Ok(());
    };
    let font = ("sans-serif", fs(scale, 15.0));
    let line = (fs(scale, 15.0) as i32) + (6.0 * scale) as i32;
    let (_, h) = area.dim_in_pixel();
    let mut y = (12.0 * scale) as i32;
    if let Some(t) = heading {
        area.draw(&Text::new(
            t.to_string(),
            (8, y - line / 3),
            ("sans-serif", fs(scale, 16.0)).into_font().color(&BLACK),
        ))
        .map_err(e)?;
        y += line;
    }
    let fits = ((h as i32 - y - line) / line).max(1) as usize;
    let shown = if entries.len() > fits + 1 {
        fits
    } else {
        entries.len()
    };
    let x = 14i32;
    for en in &entries[..shown] {
        let cy = y + line / 2 - 2;
        match &en.key {
            Key::Component(k) => {
                let r = (5.0 * scale).round() as i32;
                area.draw(&marker::<(i32, i32)>(
                    (x + 6, cy),
                    shape(*k),
                    r,
                    color(*k).filled(),
                ))
                .map_err(e)?;
                area.draw(&marker::<(i32, i32)>(
                    (x + 6, cy),
                    shape(*k),
                    r,
                    BLACK.stroke_width(1),
                ))
                .map_err(e)?;
            }
            Key::Line(c, w, dashed) => {
                let w = px(scale, *w as f64);
                let u = (scale * 4.0).round().max(1.0) as i32;
                if *dashed {
                    for s in 0..3 {
                        area.draw(&PathElement::new(
                            vec![(x - u + 2 * u * s, cy), (x + 2 * u * s, cy)],
                            c.stroke_width(w),
                        ))
                        .map_err(e)?;
                    }
                } else {
                    area.draw(&PathElement::new(
                        vec![(x - u, cy), (x + 4 * u, cy)],
                        c.stroke_width(w),
                    ))
                    .map_err(e)?;
                }
            }
            Key::Patch(c) => {
                let u = (scale * 6.0).round().max(2.0) as i32;
                area.draw(&Rectangle::new(
                    [(x - u / 2, cy - u), (x + 5 * u / 2, cy + u)],
                    c.filled(),
                ))
                .map_err(e)?;
            }
            Key::Ring => {
                area.draw(&Circle::new(
                    (x + 6, cy),
                    px(scale, 7.0),
                    BLACK.stroke_width(px(scale, 2.0)),
                ))
                .map_err(e)?;
            }
            Key::Off => {
                area.draw(&PathElement::new(
                    vec![(x + 6, cy - 2), (x + 6, cy + 8)],
                    BLACK.stroke_width(1),
                ))
                .map_err(e)?;
                area.draw(&Polygon::new(
                    vec![(x + 6, cy - 7), (x + 9, cy - 2), (x + 3, cy - 2)],
                    BLACK.filled(),
                ))
                .map_err(e)?;
            }
        }
        // Text centred on the swatch's line, after it.
        area.draw(&Text::new(
            en.text.clone(),
            (x + (24.0 * scale) as i32, cy),
            font.into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(e)?;
        y += line;
    }
    if shown < entries.len() {
        area.draw(&Text::new(
            format!("… and {} more", entries.len() - shown),
            (x, y + line / 2 - 2 - line / 3),
            font.into_font().color(&BLACK),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Legend lines for every component: its index and weight.
pub fn components(weights: &[f64]) -> Vec<Entry> {
    weights
        .iter()
        .enumerate()
        .map(|(k, w)| {
            // Three decimals, or three digits for weights too small for them.
            let w = if *w == 0.0 || *w >= 1e-3 {
                format!("{w:.3}")
            } else {
                format!("{w:.2e}")
            };
            Entry::new(Key::Component(k), format!("{k}  (weight {w})"))
        })
        .collect()
}

/// The legend of a figure of data: what the lines and layers mean first (they stay
/// visible however many components follow), then every component.
pub fn data_entries(view: &View, layers: Layers, pairs: bool) -> Vec<Entry> {
    let mut v = Vec::new();
    let ellipses = if layers.contours {
        "ellipses: 1σ"
    } else {
        "ellipses: 1σ, 2σ"
    };
    v.push(Entry::new(
        Key::Line(RGBColor(60, 60, 60), 2, false),
        ellipses,
    ));
    if pairs {
        v.push(Entry::new(Key::Line(BLACK, 1, true), "diagonal: mixture"));
    }
    if layers.contours {
        v.push(Entry::new(
            Key::Line(RGBColor(45, 45, 45), 1, false),
            "log-density contours",
        ));
    }
    if layers.uncertainty {
        v.push(Entry::new(
            Key::Component(0),
            "larger, darker: less certain",
        ));
    } else if view.n() > super::panel::MAX_POINTS {
        v.push(Entry::new(
            Key::Patch(RGBColor(120, 120, 120).mix(0.6)),
            "2-D histogram of the rows",
        ));
    }
    v.extend(components(view.model.weights().as_slice().unwrap_or(&[])));
    v
}

/// Narrowest figure that gets a legend column: below it, the data take the whole
/// width (the means carry their indices).
const MIN_LEGEND_WIDTH: u32 = 360;

/// Splits `root` into the data area and a legend column on the right, as wide as the
/// longest legend line needs (within limits); no legend column on very narrow figures.
pub fn split<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    scale: f64,
) -> (DrawingArea<DB, Shift>, Option<DrawingArea<DB, Shift>>) {
    let (w, _) = root.dim_in_pixel();
    if w < MIN_LEGEND_WIDTH {
        let (data, _) = root.split_horizontally(w);
        return (data, None);
    }
    let longest = entries
        .iter()
        .map(|x| x.text.chars().count())
        .max()
        .unwrap_or(10);
    let want = (40.0 + 8.6 * scale * longest as f64) as u32;
    let col = want.clamp(120, (w / 3).max(120));
    let (data, side) = root.split_horizontally(w.saturating_sub(col));
    (data, Some(side))
}
