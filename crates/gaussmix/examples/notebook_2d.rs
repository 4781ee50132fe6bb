//! The seed notebook's second fit: two full-covariance 2-D components by EM, from its
//! start (equal weights, means at rows 3 and 136, both covariances the data's own).
//! Run with `cargo run -p gaussmix --example notebook_2d`.

use gaussmix::{Covariances, GaussianMixture};
use ndarray::{stack, Array1, Array2, Array3, Axis};

/// The notebook's 2-D samples (`np.random.seed(0)`), `x,y` per line.
static DATA: &str = include_str!("../../gaussmix-cli/data/notebook_2d.csv");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> = DATA
        .lines()
        .flat_map(|l| l.split(','))
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let x = Array2::from_shape_vec((values.len() / 2, 2), values)?;

    // The data's covariance (the notebook's `np.cov(X.T)`), as both starting covariances.
    let centred = &x - &x.mean_axis(Axis(0)).ok_or("no rows")?;
    let cov = centred.t().dot(&centred) / (x.nrows() - 1) as f64;
    let covs = Array3::from_shape_fn((2, 2, 2), |(_, i, j)| cov[[i, j]]);

    let model = GaussianMixture::params(2)
        .weights_init(Array1::from_elem(2, 0.5))
        .means_init(stack![Axis(0), x.row(3), x.row(136)])
        .covariances_init(Covariances::Full(covs))
        .tol(1e-10)
        .max_iter(500)
        .fit(&x)?;

    println!(
        "converged: {} after {} iterations; mean log-likelihood {:.6}",
        model.converged(),
        model.n_iter(),
        model.score(&x)?
    );
    let labels = model.predict(&x)?;
    for c in 0..model.n_components() {
        let size = labels.iter().filter(|l| **l == c).count();
        println!(
            "component {c}: weight {:.4}, mean {:.4}, {size} points, covariance {:.4}",
            model.weights()[c],
            model.means().row(c),
            model.component_covariances()[c]
        );
    }
    Ok(())
}
