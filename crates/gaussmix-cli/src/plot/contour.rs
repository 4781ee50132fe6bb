//! Contour lines of a function sampled on a regular grid (marching squares).

/// A function's values on an `nx × ny` grid over `x0..x1 × y0..y1`, row `j` (y)
/// after row `j − 1`: `z[j * nx + i]` is the value at `(x_i, y_j)`.
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub z: Vec<f64>,
}

impl Grid {
    /// Samples `f` on an `nx × ny` grid (both at least 2).
    pub fn sample(
        nx: usize,
        ny: usize,
        x: (f64, f64),
        y: (f64, f64),
        f: impl Fn(f64, f64) -> f64,
    ) -> Grid {
        let (nx, ny) = (nx.max(2), ny.max(2));
        let mut z = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                z.push(f(at(x, nx, i), at(y, ny, j)));
            }
        }
        Grid { nx, ny, x, y, z }
    }

    /// The segments where the sampled function crosses `level`, each a pair of points.
    /// Cells with a non-finite corner are skipped.
    pub fn segments(&self, level: f64) -> Vec<[(f64, f64); 2]> {
        let mut out = Vec::new();
        for j in 0..self.ny - 1 {
            for i in 0..self.nx - 1 {
                let v = [
                    self.z[j * self.nx + i],
                    self.z[j * self.nx + i + 1],
                    self.z[(j + 1) * self.nx + i + 1],
                    self.z[(j + 1) * self.nx + i],
                ];
                if v.iter().any(|t| !t.is_finite()) {
                    continue;
                }
                let p = [
                    (at(self.x, self.nx, i), at(self.y, self.ny, j)),
                    (at(self.x, self.nx, i + 1), at(self.y, self.ny, j)),
                    (at(self.x, self.nx, i + 1), at(self.y, self.ny, j + 1)),
                    (at(self.x, self.nx, i), at(self.y, self.ny, j + 1)),
                ];
                // The crossing on each edge whose ends lie on either side of the level.
                let mut cross = Vec::with_capacity(4);
                for e in 0..4 {
                    let (a, b) = (v[e], v[(e + 1) % 4]);
                    if (a >= level) != (b >= level) {
                        let t = (level - a) / (b - a);
                        let (pa, pb) = (p[e], p[(e + 1) % 4]);
                        cross.push((pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1)));
                    }
                }
                match cross.len() {
                    2 => out.push([cross[0], cross[1]]),
                    4 => {
                        // A saddle: pair the crossings by the value at the cell's centre.
                        let centre = 0.25 * v.iter().sum::<f64>();
                        if (centre >= level) == (v[0] >= level) {
                            out.push([cross[0], cross[3]]);
                            out.push([cross[1], cross[2]]);
                        } else {
                            out.push([cross[0], cross[1]]);
                            out.push([cross[2], cross[3]]);
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn at(r: (f64, f64), n: usize, i: usize) -> f64 {
    r.0 + (r.1 - r.0) * i as f64 / (n - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circle_contour_lies_on_the_circle() {
        let g = Grid::sample(81, 81, (-2.0, 2.0), (-2.0, 2.0), |x, y| x * x + y * y);
        let segs = g.segments(1.0);
        assert!(segs.len() > 40, "{} segments", segs.len());
        for s in &segs {
            for (x, y) in s {
                let r = (x * x + y * y).sqrt();
                assert!((r - 1.0).abs() < 0.01, "point at radius {r}");
            }
        }
        // The segments go all the way round: every quadrant has some.
        for (sx, sy) in [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)] {
            assert!(segs.iter().any(|s| s[0].0 * sx > 0.2 && s[0].1 * sy > 0.2));
        }
        assert!(g.segments(100.0).is_empty());
    }

    #[test]
    fn non_finite_cells_are_skipped() {
        let g = Grid::sample(3, 3, (0.0, 2.0), (0.0, 2.0), |x, _| {
            if x > 1.5 {
                f64::NAN
            } else {
                x
            }
        });
        let segs = g.segments(0.5);
        assert_eq!(segs.len(), 2);
    }
}
