//! The seed notebook's first fit: two 1-D components by EM, from its start (equal
//! weights, means at rows 246 and 100, unit variances). Run with
//! `cargo run -p gaussmix --example notebook_1d`.

use gaussmix::{Covariances, GaussianMixture};
use ndarray::{array, Array2, Array3};

/// The notebook's 500 samples (`np.random.seed(0)`), one per line.
static DATA: &str = include_str!("../../gaussmix-cli/data/notebook_1d.csv");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> = DATA.lines().map(str::parse).collect::<Result<_, _>>()?;
    let x = Array2::from_shape_vec((values.len(), 1), values)?;

    let model = GaussianMixture::params(2)
        .weights_init(array![0.5, 0.5])
        .means_init(array![[x[[246, 0]]], [x[[100, 0]]]])
        .covariances_init(Covariances::Full(Array3::ones((2, 1, 1))))
        .tol(1e-10)
        .max_iter(500)
        .fit(&x)?;

    println!(
        "converged: {} after {} iterations; mean log-likelihood {:.6}",
        model.converged(),
        model.n_iter(),
        model.score(&x)?
    );
    for c in 0..model.n_components() {
        println!(
            "component {c}: weight {:.4}, mean {:.4}, variance {:.4}",
            model.weights()[c],
            model.means()[[c, 0]],
            model.component_covariances()[c][[0, 0]]
        );
    }
    Ok(())
}
