//! Image tests: every figure type rendered on fixed data into a pixel buffer and
//! checked for structure: its size, that it is not blank, that each component's
//! colour is where its mean is drawn and dominates the points around it.

use gaussmix::{Covariances, GaussianMixture};
use ndarray::{Array1, Array2, Array3};
use plotters::style::RGBColor;

use super::palette::{color, COLORS, TYPE_COLORS};
use super::*;

/// `k` spherical components of variance `var` on a circle of radius `spread`, in
/// `d` features (the others centred at 0).
fn ring_model(k: usize, d: usize, spread: f64, var: f64) -> GaussianMixture {
    let mut means = Array2::zeros((k, d));
    for c in 0..k {
        let t = std::f64::consts::TAU * c as f64 / k as f64;
        if d == 1 {
            // On a line: a circle's cosines repeat.
            means[[c, 0]] = spread * c as f64;
        } else {
            means[[c, 0]] = spread * t.cos();
            means[[c, 1]] = spread * t.sin();
        }
        for j in 2..d {
            means[[c, j]] = (c as f64 - k as f64 / 2.0) * (j as f64);
        }
    }
    GaussianMixture::from_parameters(
        Array1::from_elem(k, 1.0 / k as f64),
        means,
        Covariances::Spherical(Array1::from_elem(k, var)),
    )
    .unwrap()
}

fn rows(model: &GaussianMixture, n: usize) -> Vec<f64> {
    let (x, _) = model.sample(n, 7).unwrap();
    x.iter().copied().collect()
}

fn names(d: usize) -> Vec<String> {
    (0..d).map(|j| format!("x{j}")).collect()
}

struct Image {
    px: Vec<u8>,
    w: u32,
    h: u32,
}

impl Image {
    fn at(&self, (x, y): (i32, i32)) -> Option<RGBColor> {
        if x < 0 || y < 0 || x as u32 >= self.w || y as u32 >= self.h {
            return None;
        }
        let i = ((y as u32 * self.w + x as u32) * 3) as usize;
        Some(RGBColor(self.px[i], self.px[i + 1], self.px[i + 2]))
    }

    /// Share of pixels that are not white.
    fn ink(&self) -> f64 {
        let n = self
            .px
            .chunks_exact(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        n as f64 / (self.w * self.h) as f64
    }

    fn count(&self, c: RGBColor) -> usize {
        self.px
            .chunks_exact(3)
            .filter(|p| p == &[c.0, c.1, c.2])
            .count()
    }
}

/// The scatter of features 0 and 1 with `layers`, drawn.
fn scatter_of(view: &View, layers: Layers) -> (Image, Drawn) {
    draw(&scatter::Scatter {
        view,
        features: (0, 1),
        title: "t".into(),
        layers,
    })
}

fn draw(fig: &impl Figure) -> (Image, Drawn) {
    let (w, h) = fig.default_size();
    let (px, drawn) = render_rgb(fig, (w, h));
    assert_eq!(px.len(), (w * h * 3) as usize);
    (Image { px, w, h }, drawn)
}

/// Which of `candidates` the pixel is a tint of (the colour laid over white with some
/// opacity), if any fits well; grey, black and white pixels fit none.
fn tint_of(p: RGBColor, candidates: &[usize]) -> Option<usize> {
    let p = [p.0 as f64, p.1 as f64, p.2 as f64];
    if p.iter().all(|v| *v > 245.0) {
        return None;
    }
    let mut best = None;
    for &c in candidates {
        let col = color(c);
        let col = [col.0 as f64, col.1 as f64, col.2 as f64];
        // p = 255 − a (255 − col): least squares for a, then the residual.
        let (mut num, mut den) = (0.0, 0.0);
        for ch in 0..3 {
            num += (255.0 - p[ch]) * (255.0 - col[ch]);
            den += (255.0 - col[ch]) * (255.0 - col[ch]);
        }
        let a = (num / den).clamp(0.0, 1.0);
        let res: f64 = (0..3)
            .map(|ch| (255.0 - a * (255.0 - col[ch]) - p[ch]).powi(2))
            .sum::<f64>()
            .sqrt();
        if a > 0.1 && res < 12.0 && best.is_none_or(|(_, r)| res < r) {
            best = Some((c, res));
        }
    }
    best.map(|b| b.0)
}

/// Asserts that each mark shows its component's colour and that, in a ring around
/// it, the points' tints are mostly that component's.
fn assert_components_where_their_means_are(img: &Image, marks: &[(usize, (i32, i32))], k: usize) {
    assert!(!marks.is_empty(), "no means drawn");
    let all: Vec<usize> = (0..k).collect();
    for &(c, (x, y)) in marks {
        assert_eq!(
            img.at((x, y)),
            Some(color(c)),
            "mean of component {c} at ({x}, {y})"
        );
        let (mut own, mut other) = (0, 0);
        for dy in -30i32..=30 {
            for dx in -30i32..=30 {
                let r2 = dx * dx + dy * dy;
                if !(144..=900).contains(&r2) {
                    continue;
                }
                match img.at((x + dx, y + dy)).and_then(|p| tint_of(p, &all)) {
                    Some(t) if t == c => own += 1,
                    Some(_) => other += 1,
                    None => {}
                }
            }
        }
        assert!(
            own > 40 && own > 3 * other,
            "around the mean of component {c}: {own} pixels of its colour, {other} of others"
        );
    }
}

/// Asserts that each component's 1σ ellipse is drawn, in its darkened colour, over
/// whatever lies under it (the points, or the histogram's cells).
fn assert_ellipses_on_top(img: &Image, rims: &[(usize, (i32, i32))], k: usize) {
    assert_eq!(rims.len(), k, "one rim point per component");
    for &(c, (x, y)) in rims {
        let line = panel::shade(color(c));
        let near = (-2..=2).any(|dy| (-2..=2).any(|dx| img.at((x + dx, y + dy)) == Some(line)));
        assert!(near, "component {c}'s ellipse is not visible at ({x}, {y})");
    }
}

#[test]
fn scatter_draws_each_component_in_its_colour_around_its_mean() {
    let model = ring_model(3, 2, 10.0, 1.0);
    let x = rows(&model, 600);
    let view = View::new(&model, &x, names(2)).unwrap();
    let (img, drawn) = scatter_of(&view, Layers::default());
    assert!(img.ink() > 0.03, "ink {}", img.ink());
    assert_eq!(drawn.marks.len(), 3);
    assert_components_where_their_means_are(&img, &drawn.marks, 3);
    assert_ellipses_on_top(&img, &drawn.rims, 3);
    // The legend is in its own column right of the data: the means are left of it.
    for (_, (px, _)) in &drawn.marks {
        assert!((*px as u32) < img.w * 3 / 4);
    }
}

#[test]
fn beyond_twenty_thousand_points_the_scatter_is_a_coloured_histogram() {
    let model = ring_model(4, 2, 10.0, 1.5);
    let x = rows(&model, 30_000);
    let view = View::new(&model, &x, names(2)).unwrap();
    let (img, drawn) = scatter_of(&view, Layers::default());
    assert_eq!(drawn.marks.len(), 4);
    assert_components_where_their_means_are(&img, &drawn.marks, 4);
    assert_ellipses_on_top(&img, &drawn.rims, 4);
}

#[test]
fn twenty_five_components_keep_distinct_colours_and_shapes() {
    let model = ring_model(25, 2, 40.0, 1.0);
    let x = rows(&model, 5000);
    let view = View::new(&model, &x, names(2)).unwrap();
    let (img, drawn) = scatter_of(&view, Layers::default());
    assert_eq!(drawn.marks.len(), 25);
    for &(c, p) in &drawn.marks {
        assert_eq!(img.at(p), Some(color(c)), "component {c}");
    }
    // Components 20..25 reuse colours 0..5 with another shape; their neighbourhoods
    // are checked only against the colours, so check the first twenty.
    let first: Vec<_> = drawn.marks.iter().copied().filter(|m| m.0 < 20).collect();
    assert_components_where_their_means_are(&img, &first, 20);
}

#[test]
fn one_d_shows_every_component_curve_and_the_rug() {
    let model = ring_model(3, 1, 8.0, 1.0);
    let x = rows(&model, 2000);
    let view = View::new(&model, &x, names(1)).unwrap();
    for density_only in [false, true] {
        let fig = density::Density {
            view: &view,
            title: "t".into(),
            layers: Layers {
                density_only,
                ..Layers::default()
            },
        };
        let (img, drawn) = draw(&fig);
        assert_eq!(drawn.marks.len(), 3);
        for &(c, (mx, _)) in &drawn.marks {
            // The component's curve shows in its full colour near its mean (between
            // the dashes of the black mixture line drawn over it).
            let hit = (mx - 12..=mx + 12)
                .any(|x| (0..img.h as i32).any(|y| img.at((x, y)) == Some(color(c))));
            assert!(hit, "component {c}'s curve is not visible at its mean");
        }
        // The rug, below the zero line: under each component's mean, ticks of its
        // own colour and no other (its components are 8 standard deviations apart).
        if !density_only {
            for &(c, (mx, my)) in &drawn.marks {
                let all = [0, 1, 2];
                let (mut own, mut other) = (0, 0);
                for y in my..img.h as i32 {
                    for x in mx - 20..=mx + 20 {
                        match img.at((x, y)).and_then(|p| tint_of(p, &all)) {
                            Some(t) if t == c => own += 1,
                            Some(_) => other += 1,
                            None => {}
                        }
                    }
                }
                assert!(
                    own > 50 && other == 0,
                    "rug under {c}: {own} own, {other} other"
                );
            }
        }
    }
}

#[test]
fn a_very_narrow_component_keeps_its_curve_and_its_cut_peak() {
    // Two ordinary components and one of variance 1e-6 (its peak is far above theirs).
    let model = GaussianMixture::from_parameters(
        ndarray::array![0.485, 0.485, 0.03],
        ndarray::array![[0.0], [10.0], [5.0]],
        Covariances::Spherical(ndarray::array![1.0, 1.0, 1e-6]),
    )
    .unwrap();
    let x = rows(&model, 3000);
    let view = View::new(&model, &x, names(1)).unwrap();
    let (img, drawn) = draw(&density::Density {
        view: &view,
        title: "t".into(),
        layers: Layers::default(),
    });
    let &(_, (mx, _)) = drawn.marks.iter().find(|m| m.0 == 2).expect("mark of 2");
    let colour = color(2);
    let column_hits = (mx - 3..=mx + 3)
        .flat_map(|x| (0..img.h as i32).map(move |y| (x, y)))
        .filter(|p| img.at(*p) == Some(colour))
        .count();
    // Its curve runs up the figure (it is cut at the top, with a ▲ in its colour).
    assert!(
        column_hits > 100,
        "{column_hits} pixels of the narrow component"
    );
}

#[test]
fn pairs_matrix_has_a_panel_per_pair_with_every_mean() {
    let model = ring_model(3, 4, 10.0, 1.0);
    let x = rows(&model, 900);
    let view = View::new(&model, &x, names(4)).unwrap();
    let fig = pairs::Pairs {
        view: &view,
        features: vec![0, 1, 2, 3],
        title: "t".into(),
        layers: Layers::default(),
    };
    let (img, drawn) = draw(&fig);
    // 12 off-diagonal panels × 3 means.
    assert_eq!(drawn.marks.len(), 36);
    for &(c, p) in &drawn.marks {
        assert_eq!(img.at(p), Some(color(c)));
    }
    // The marks of one component fall in 12 different panels.
    let mut xs: Vec<i32> = drawn
        .marks
        .iter()
        .filter(|m| m.0 == 0)
        .map(|m| m.1 .0)
        .collect();
    xs.sort();
    xs.dedup_by(|a, b| (*a - *b).abs() < 30);
    assert!(xs.len() >= 4, "{xs:?}");
}

#[test]
fn contours_and_uncertainty_add_their_layers() {
    let model = ring_model(3, 2, 3.0, 1.0);
    let x = rows(&model, 1500);
    let view = View::new(&model, &x, names(2)).unwrap();
    let plain = scatter_of(&view, Layers::default()).0;
    let contours = scatter_of(
        &view,
        Layers {
            contours: true,
            ..Layers::default()
        },
    )
    .0;
    let line = RGBColor(45, 45, 45);
    // (Anti-aliased text has a few pixels of that grey too.)
    assert!(plain.count(line) < 100, "{}", plain.count(line));
    assert!(
        contours.count(line) > plain.count(line) + 500,
        "{}",
        contours.count(line)
    );
    let (unc, drawn) = scatter_of(
        &view,
        Layers {
            uncertainty: true,
            ..Layers::default()
        },
    );
    assert_components_where_their_means_are(&unc, &drawn.marks, 3);
    // Overlapping components: some rows are uncertain, and they are drawn larger.
    assert!(view.uncertainty.iter().any(|u| *u > 0.3));
    assert_ne!(unc.px, plain.px);
}

#[test]
fn the_marginal_density_is_the_models_own_in_two_dimensions() {
    let model = ring_model(3, 2, 3.0, 1.5);
    let x = rows(&model, 50);
    let view = View::new(&model, &x, names(2)).unwrap();
    let f = panel::marginal(&view, 0, 1);
    let pts = ndarray::array![[0.0, 0.0], [3.0, 1.0], [-20.0, 4.0]];
    let want = model.score_samples(&pts).unwrap();
    for (i, w) in want.iter().enumerate() {
        let got = f(pts[[i, 0]], pts[[i, 1]]);
        assert!((got - w).abs() < 1e-10 * w.abs().max(1.0), "{got} vs {w}");
    }
}

#[test]
fn selection_plot_clips_a_far_off_family_and_log_scale_shows_it() {
    // Two long, thin, correlated clusters: spherical and diagonal models are far worse.
    let mut cov = Array3::zeros((2, 2, 2));
    for c in 0..2 {
        cov[[c, 0, 0]] = 100.0;
        cov[[c, 1, 1]] = 100.0;
        cov[[c, 0, 1]] = 99.5;
        cov[[c, 1, 0]] = 99.5;
    }
    let model = GaussianMixture::from_parameters(
        Array1::from_elem(2, 0.5),
        ndarray::array![[0.0, 0.0], [0.0, 40.0]],
        Covariances::Full(cov),
    )
    .unwrap();
    let (x, _) = model.sample(1500, 3).unwrap();
    let opts = gaussmix::select::SelectOptions::new(
        1..=4,
        gaussmix::CovarianceType::ALL.to_vec(),
        gaussmix::select::Criterion::Bic,
    );
    let sel = gaussmix::select::select(&x, &opts).unwrap();
    let values: Vec<f64> = sel
        .candidates
        .iter()
        .filter_map(|c| c.criterion_value)
        .collect();
    let worst = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        selection::useful_top(&values) < worst,
        "nothing was clipped"
    );
    for log_scale in [false, true] {
        let (img, drawn) = draw(&SelectionPlot {
            selection: &sel,
            title: None,
            log_scale,
        });
        assert!(img.ink() > 0.02);
        // Where two types' points coincide (full and tied at k = 1), the later hides
        // the earlier; the others show their type's colour.
        let mut clear = 0;
        for &(t, p) in &drawn.marks {
            let alone = drawn
                .marks
                .iter()
                .all(|&(u, q)| u == t || (p.0 - q.0).abs() > 8 || (p.1 - q.1).abs() > 8);
            if alone {
                assert_eq!(img.at(p), Some(TYPE_COLORS[t]), "type {t}");
                clear += 1;
            }
        }
        assert!(clear >= 2, "{:?}", drawn.marks);
        if log_scale {
            assert_eq!(drawn.marks.len(), 4, "every type on the log scale");
        }
    }
}

#[test]
fn the_palette_is_used_in_order() {
    assert_eq!(color(0), COLORS[0]);
    assert_eq!(color(21), COLORS[1]);
}

#[test]
fn convergence_curve_is_drawn_in_the_first_colour() {
    let lb = [-5.0, -4.2, -4.05, -4.01, -4.0];
    let (img, _) = draw(&Convergence {
        lower_bounds: &lb,
        title: "EM".into(),
    });
    assert!(img.ink() > 0.02);
    assert!(img.count(color(0)) > 200, "{}", img.count(color(0)));
    // A single iteration and a flat curve still draw.
    let (img, _) = draw(&Convergence {
        lower_bounds: &[-3.0, -3.0],
        title: "EM".into(),
    });
    assert!(img.count(color(0)) > 20);
}
