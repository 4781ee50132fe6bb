//! Fit options: one type, [`GmmOptions`], named as scikit-learn names them, set with
//! chained methods and checked by [`GmmOptions::validate`] before every fit.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::covariance::{CovarianceType, Covariances, Precisions};
use crate::error::{invalid_option, GmmError, Result};

/// Upper bound on `n_threads`: far beyond any machine, low enough not to exhaust the OS.
pub const MAX_THREADS: usize = 1024;

/// How each EM run starts (scikit-learn's `init_params`, plus mclust's and em-EM's).
///
/// The default was chosen by measurement (`bench/optima.py`, bench/README.md "Optima"):
/// see [`InitMethod::EmEm`].
///
/// ```
/// use gaussmix::InitMethod;
/// assert_eq!("kmeans++".parse::<InitMethod>()?, InitMethod::KMeansPlusPlus);
/// assert_eq!("em-em".parse::<InitMethod>()?, InitMethod::EmEm);
/// assert_eq!(InitMethod::default(), InitMethod::EmEm);
/// assert!("kmeans+".parse::<InitMethod>().is_err());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum InitMethod {
    /// k-means++ seeding (Arthur & Vassilvitskii 2007: each centre drawn with probability
    /// proportional to the squared distance to the nearest centre so far); each row is
    /// assigned to its nearest seed.
    #[serde(rename = "kmeans++")]
    KMeansPlusPlus,
    /// Greedy k-means++: `2 + ⌊ln K⌋` candidates drawn per centre, the one lowering the
    /// squared distances most kept (what scikit-learn's `KMeans` does).
    #[serde(rename = "greedy-kmeans++")]
    GreedyKMeansPlusPlus,
    /// Greedy k-means++ seeding followed by Lloyd's k-means (scikit-learn's default);
    /// hard assignment to the centres.
    #[serde(rename = "kmeans")]
    KMeans,
    /// Ward's agglomerative clustering (mclust's model-based hierarchical start, EII
    /// criterion) on a seeded sample of at most 2,000 rows; hard assignment to the
    /// clusters' means.
    Hierarchical,
    /// em-EM ("short runs", Biernacki, Celeux & Govaert 2003), the default: draws
    /// [`GmmOptions::init_candidates`] starts per run (Lloyd's k-means and k-means++ in
    /// turn) and one Ward start, runs EM from all of them for [`GmmOptions::init_iter`]
    /// iterations (their passes share each read of the data; on large data they run on
    /// a sample of the rows), and continues the best `n_init` of them — those that are
    /// not spurious first — to convergence on all the rows; then up to
    /// [`GmmOptions::split_merge_moves`] split-and-merge moves from the winner.
    #[default]
    #[serde(rename = "em-em")]
    EmEm,
    /// Random responsibilities, normalised per row.
    Random,
    /// `K` distinct rows drawn at random as means; hard assignment to the nearest.
    RandomFromData,
}

/// Every [`InitMethod`], in the order the command line lists them.
pub const INIT_METHODS: [InitMethod; 7] = [
    InitMethod::EmEm,
    InitMethod::KMeansPlusPlus,
    InitMethod::GreedyKMeansPlusPlus,
    InitMethod::KMeans,
    InitMethod::Hierarchical,
    InitMethod::Random,
    InitMethod::RandomFromData,
];

impl InitMethod {
    /// The name used on the command line and in model files.
    pub fn as_str(self) -> &'static str {
        match self {
            InitMethod::KMeansPlusPlus => "kmeans++",
            InitMethod::GreedyKMeansPlusPlus => "greedy-kmeans++",
            InitMethod::KMeans => "kmeans",
            InitMethod::Hierarchical => "hierarchical",
            InitMethod::EmEm => "em-em",
            InitMethod::Random => "random",
            InitMethod::RandomFromData => "random-from-data",
        }
    }
}

impl fmt::Display for InitMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InitMethod {
    type Err = GmmError;
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match norm.as_str() {
            "k-means++" => "kmeans++",
            "greedy-k-means++" => "greedy-kmeans++",
            "k-means" => "kmeans",
            "emem" => "em-em",
            other => other,
        };
        INIT_METHODS
            .iter()
            .copied()
            .find(|m| m.as_str() == alias)
            .ok_or_else(|| {
                let names: Vec<&str> = INIT_METHODS.iter().map(|m| m.as_str()).collect();
                invalid_option(
                    "init",
                    format!(
                        "unknown init method {norm:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// Explicit starting parameters; any subset may be given (scikit-learn's
/// `weights_init`, `means_init`, `precisions_init`, plus covariances).
///
/// Whatever is missing is estimated from the initial responsibilities: when means are
/// given, those are the hard assignment of each row to its nearest given mean, so
/// covariances are measured around the means the user chose.
///
/// ```
/// use gaussmix::{GaussianMixture, StartParameters};
/// use ndarray::array;
/// let x = array![[0.0], [0.2], [5.0], [5.2]];
/// let start = StartParameters { means: Some(array![[0.0], [5.0]]), ..Default::default() };
/// let m = GaussianMixture::params(2).start(start).fit(&x)?;
/// assert!(m.means()[[0, 0]] < m.means()[[1, 0]]);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartParameters {
    /// `K` weights, non-negative, summing to 1.
    pub weights: Option<Array1<f64>>,
    /// `K×D` means.
    pub means: Option<Array2<f64>>,
    /// Covariances in per-type shape.
    pub covariances: Option<Covariances>,
    /// Precisions (inverse covariances) in per-type shape; used when `covariances` is
    /// `None`.
    pub precisions: Option<Precisions>,
}

impl StartParameters {
    /// True when nothing is given.
    pub fn is_empty(&self) -> bool {
        self.weights.is_none()
            && self.means.is_none()
            && self.covariances.is_none()
            && self.precisions.is_none()
    }
}

/// The options of a fit: scikit-learn's `GaussianMixture` parameters, set with
/// chained methods and checked by [`GmmOptions::validate`] (every fit calls it).
///
/// ```
/// use gaussmix::{CovarianceType, GaussianMixture, InitMethod};
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [10.0, 10.2], [10.1, 9.9], [9.8, 10.0]];
/// let model = GaussianMixture::params(2)
///     .covariance_type(CovarianceType::Diag)
///     .init(InitMethod::KMeans)
///     .seed(42)
///     .fit(&x)?;
/// assert!(model.converged());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[must_use = "options do nothing until `fit` is called"]
#[non_exhaustive]
pub struct GmmOptions {
    /// Number of mixture components `K` (≥ 1).
    pub n_components: usize,
    /// Covariance kind.
    pub covariance_type: CovarianceType,
    /// How each run starts.
    pub init: InitMethod,
    /// em-EM: short runs per complete run (≥ 1; only with [`InitMethod::EmEm`]).
    #[serde(default = "default_init_candidates")]
    pub init_candidates: usize,
    /// em-EM: EM iterations every start gets before the best is chosen (≥ 1; only with
    /// [`InitMethod::EmEm`]).
    #[serde(default = "default_init_iter")]
    pub init_iter: usize,
    /// em-EM: split-and-merge moves tried from the winning run, at most two per restart
    /// (0 = none; only with [`InitMethod::EmEm`] and `K ≥ 3`): two components merged, a
    /// third split, EM from there, kept if it ends higher (`fit::split_merge`;
    /// bench/README.md "Optima"). Files written before it existed load with 0 (what
    /// those fits did).
    #[serde(default)]
    pub split_merge_moves: usize,
    /// Let a spurious optimum (a component on a few near-identical rows:
    /// `fit::degenerate`'s rule, see the README) win the restarts. Off by default: such
    /// a run only wins when every run is spurious (with a warning).
    #[serde(default)]
    pub allow_spurious: bool,
    /// Number of restarts; the run with the best final lower bound is kept (≥ 1).
    pub n_init: usize,
    /// Maximum EM iterations per run (≥ 1).
    pub max_iter: usize,
    /// Convergence threshold on the change of the mean log-likelihood (≥ 0).
    pub tol: f64,
    /// Added to the diagonal of every covariance (≥ 0).
    pub reg_covar: f64,
    /// Opt-in variance floor: each variance is clamped to at least this value.
    pub variance_floor: Option<f64>,
    /// Seed of every random choice; the same seed gives the same fit.
    pub seed: u64,
    /// Threads for the EM passes; `None` uses all cores. Results do not depend on it.
    pub n_threads: Option<usize>,
    /// Re-seed components that lose their mass or collapse instead of failing.
    pub recover: bool,
    /// Initialise on a seeded uniform sample of this many rows (every start: k-means,
    /// k-means++, em-EM's short runs), then run EM on all rows; `None`: initialise on
    /// all rows. What makes a fit of data larger than memory
    /// ([`Data::from_reader`](crate::Data::from_reader)) read the file only once per
    /// EM iteration; the same sample is drawn from streamed and in-memory data, so
    /// their fits stay identical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_sample: Option<usize>,
    /// Online EM ([`GaussianMixture::partial_fit`](crate::GaussianMixture::partial_fit)):
    /// `κ` of the step sizes `η_t = (t + 2)^(−κ)`, in `(0.5, 1]` (default 0.6). Smaller
    /// forgets the start faster; 1 weighs every batch equally (a running mean).
    #[serde(default = "default_step_exponent")]
    pub step_exponent: f64,
    /// Online EM: Polyak–Ruppert averaging — from this many updates on (≥ 1), the
    /// model's parameters come from the mean of the running statistics since then,
    /// while each batch's E-step still runs under the running statistics' own
    /// parameters (Cappé & Moulines 2009, §2.4). Cuts the noise of the last batches on
    /// a stationary stream (bench/README.md, "Online EM"); `None` (default): off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_from: Option<u64>,
    /// Explicit starting parameters (not stored in model files).
    #[serde(skip)]
    pub start: StartParameters,
    /// Names of the features (columns), one per column, unique and non-empty; the
    /// fitted model carries them and the fit's warnings name features by them. Not
    /// stored with the options in a model file (the model stores them at its top
    /// level).
    #[serde(skip)]
    pub feature_names: Option<Vec<String>>,
}

/// Upper bound on `n_init` (and on em-EM's `init_candidates × n_init` short runs, each
/// of which keeps its parameters until the best are chosen).
pub const MAX_N_INIT: usize = 100_000;

/// Upper bound on `init_candidates`: every short run keeps its parameters until the
/// best are chosen, so the pool's memory is `init_candidates × n_init` parameter sets.
pub const MAX_INIT_CANDIDATES: usize = 1000;

/// em-EM's starts per run by default (bench/README.md, "Optima").
pub const DEFAULT_INIT_CANDIDATES: usize = 5;
/// em-EM's short-run iterations by default (bench/README.md, "Optima").
pub const DEFAULT_INIT_ITER: usize = 20;
/// em-EM's split-and-merge moves by default (bench/README.md, "Optima").
pub const DEFAULT_SPLIT_MERGE_MOVES: usize = 16;
/// Upper bound on `split_merge_moves` (each move is up to one EM run).
pub const MAX_SPLIT_MERGE_MOVES: usize = 100_000;

fn default_init_candidates() -> usize {
    DEFAULT_INIT_CANDIDATES
}

fn default_init_iter() -> usize {
    DEFAULT_INIT_ITER
}

/// Online EM's step exponent `κ` by default (Cappé & Moulines 2009 use 0.6).
pub const DEFAULT_STEP_EXPONENT: f64 = 0.6;

fn default_step_exponent() -> f64 {
    DEFAULT_STEP_EXPONENT
}

impl Default for GmmOptions {
    /// scikit-learn's defaults, with one component.
    fn default() -> Self {
        GmmOptions {
            n_components: 1,
            covariance_type: CovarianceType::Full,
            init: InitMethod::default(),
            init_candidates: default_init_candidates(),
            init_iter: default_init_iter(),
            split_merge_moves: DEFAULT_SPLIT_MERGE_MOVES,
            allow_spurious: false,
            n_init: 1,
            max_iter: 100,
            tol: 1e-3,
            reg_covar: 1e-6,
            variance_floor: None,
            seed: 0,
            n_threads: None,
            recover: false,
            init_sample: None,
            step_exponent: DEFAULT_STEP_EXPONENT,
            average_from: None,
            start: StartParameters::default(),
            feature_names: None,
        }
    }
}

impl GmmOptions {
    /// Options for `n_components` components with scikit-learn's defaults; set others
    /// with the methods below (each checked by [`GmmOptions::validate`], which every fit
    /// calls). Also reachable as [`GaussianMixture::params`](crate::GaussianMixture::params).
    ///
    /// ```
    /// use gaussmix::{CovarianceType, GmmOptions};
    /// let opts = GmmOptions::new(3).covariance_type(CovarianceType::Diag).n_init(4).seed(7);
    /// assert_eq!(opts.n_components, 3);
    /// assert!(opts.validate().is_ok());
    /// ```
    pub fn new(n_components: usize) -> Self {
        GmmOptions {
            n_components,
            ..GmmOptions::default()
        }
    }

    /// Covariance kind (default full).
    pub fn covariance_type(mut self, t: CovarianceType) -> Self {
        self.covariance_type = t;
        self
    }
    /// How each run starts (default em-EM).
    pub fn init(mut self, m: InitMethod) -> Self {
        self.init = m;
        self
    }
    /// em-EM's starts per run (default [`DEFAULT_INIT_CANDIDATES`]).
    pub fn init_candidates(mut self, n: usize) -> Self {
        self.init_candidates = n;
        self
    }
    /// em-EM's short-run iterations (default [`DEFAULT_INIT_ITER`]); also after how
    /// many iterations on all the rows the continuation of split-and-merge moves made on
    /// a sample is abandoned if it has not reached the winner.
    pub fn init_iter(mut self, n: usize) -> Self {
        self.init_iter = n;
        self
    }
    /// em-EM's split-and-merge moves from the winning run (default
    /// [`DEFAULT_SPLIT_MERGE_MOVES`]; 0 turns them off): see
    /// [`FitRecord::split_merge`](crate::FitRecord::split_merge).
    pub fn split_merge_moves(mut self, n: usize) -> Self {
        self.split_merge_moves = n;
        self
    }
    /// Let a spurious optimum win the restarts (default off): see
    /// [`FitRecord::spurious_inits`](crate::FitRecord::spurious_inits).
    ///
    /// ```
    /// let opts = gaussmix::GmmOptions::new(2).allow_spurious(true);
    /// assert!(opts.allow_spurious && opts.validate().is_ok());
    /// ```
    pub fn allow_spurious(mut self, on: bool) -> Self {
        self.allow_spurious = on;
        self
    }
    /// Restarts (default 1).
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    /// Iteration cap per run (default 100).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Convergence tolerance (default 1e-3).
    pub fn tol(mut self, t: f64) -> Self {
        self.tol = t;
        self
    }
    /// Covariance regulariser (default 1e-6).
    pub fn reg_covar(mut self, r: f64) -> Self {
        self.reg_covar = r;
        self
    }
    /// The seed notebook's variance floor (off by default).
    pub fn variance_floor(mut self, v: f64) -> Self {
        self.variance_floor = Some(v);
        self
    }
    /// Random seed (default 0).
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Thread count (default: all cores).
    pub fn n_threads(mut self, n: usize) -> Self {
        self.n_threads = Some(n);
        self
    }
    /// Re-seed dead or collapsed components instead of failing (default off).
    pub fn recover(mut self, on: bool) -> Self {
        self.recover = on;
        self
    }
    /// Initialise on a seeded uniform sample of `n` rows, then run EM on all rows
    /// ([`GmmOptions::init_sample`](Self::init_sample) the field; at least
    /// `n_components`).
    ///
    /// ```
    /// use gaussmix::GaussianMixture;
    /// let x: Vec<f64> = (0..3000).map(|i| (i % 2) as f64 * 10.0 + (i % 13) as f64 * 0.1).collect();
    /// let data = gaussmix::Data::from_slice(&x, 3000, 1)?;
    /// let m = GaussianMixture::params(2).init_sample(500).seed(1).fit(&data)?;
    /// assert!(m.converged());
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn init_sample(mut self, n: usize) -> Self {
        self.init_sample = Some(n);
        self
    }
    /// Online EM's step exponent `κ` in `(0.5, 1]` (default 0.6; see
    /// [`GmmOptions::step_exponent`](Self::step_exponent) the field).
    pub fn step_exponent(mut self, kappa: f64) -> Self {
        self.step_exponent = kappa;
        self
    }
    /// Online EM: average the running statistics from update `t` on (≥ 1; see
    /// [`GmmOptions::average_from`](Self::average_from) the field).
    pub fn average_from(mut self, t: u64) -> Self {
        self.average_from = Some(t);
        self
    }
    /// Starting weights (`K`).
    pub fn weights_init(mut self, w: Array1<f64>) -> Self {
        self.start.weights = Some(w);
        self
    }
    /// Starting means (`K×D`).
    pub fn means_init(mut self, m: Array2<f64>) -> Self {
        self.start.means = Some(m);
        self
    }
    /// Starting covariances (per-type shape).
    pub fn covariances_init(mut self, c: Covariances) -> Self {
        self.start.covariances = Some(c);
        self
    }
    /// Starting precisions, the inverse covariances (per-type shape).
    pub fn precisions_init(mut self, p: Precisions) -> Self {
        self.start.precisions = Some(p);
        self
    }
    /// All starting parameters at once.
    pub fn start(mut self, s: StartParameters) -> Self {
        self.start = s;
        self
    }
    /// Names of the features, one per column (unique, non-empty; checked against the
    /// data's column count at fit). The fitted model carries them
    /// ([`GaussianMixture::feature_names`](crate::GaussianMixture::feature_names)) and
    /// the fit's warnings name features by them. The library predicts by position: the
    /// names are not matched against anything (the CLI and the Python package match
    /// them to columns).
    ///
    /// ```
    /// let x = ndarray::array![[0.0, 1.0], [0.2, 1.5], [5.0, 0.1], [5.2, 0.3]];
    /// let names = vec!["height".to_string(), "width".to_string()];
    /// let m = gaussmix::GaussianMixture::params(2).feature_names(Some(names.clone())).fit(&x)?;
    /// assert_eq!(m.feature_names(), Some(&names[..]));
    /// // The count must match the data.
    /// assert!(gaussmix::GaussianMixture::params(2)
    ///     .feature_names(Some(vec!["a".into()])).fit(&x).is_err());
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn feature_names(mut self, names: Option<Vec<String>>) -> Self {
        self.feature_names = names;
        self
    }
}

/// Checks feature names: non-empty, unique, and `n_features` of them when given.
pub(crate) fn check_feature_names(names: &[String], n_features: Option<usize>) -> Result<()> {
    if let Some(d) = n_features {
        if names.len() != d {
            return Err(invalid_option(
                "feature_names",
                format!(
                    "{} names for {d} features; give exactly one name per column",
                    names.len()
                ),
            ));
        }
    }
    if let Some(j) = names.iter().position(|n| n.is_empty()) {
        return Err(invalid_option(
            "feature_names",
            format!("the name of feature {j} is empty; every feature needs a name"),
        ));
    }
    let mut seen = std::collections::HashMap::new();
    for (j, n) in names.iter().enumerate() {
        if let Some(i) = seen.insert(n.as_str(), j) {
            return Err(invalid_option(
                "feature_names",
                format!("features {i} and {j} are both named {n:?}; names must be unique"),
            ));
        }
    }
    Ok(())
}

impl GmmOptions {
    /// Checks every option; every fit calls it, so options assembled or changed field
    /// by field are refused with the same errors instead of misbehaving.
    ///
    /// ```
    /// let mut o = gaussmix::GmmOptions::default();
    /// o.n_init = 0;
    /// assert!(o.validate().is_err());
    /// assert!(o.fit(&ndarray::array![[0.0], [1.0], [2.0]]).is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let o = self;
        if o.n_components == 0 {
            return Err(invalid_option("n_components", "must be at least 1, got 0"));
        }
        if o.n_init == 0 {
            return Err(invalid_option("n_init", "must be at least 1, got 0"));
        }
        if o.max_iter == 0 {
            return Err(invalid_option("max_iter", "must be at least 1, got 0"));
        }
        if !(1..=MAX_INIT_CANDIDATES).contains(&o.init_candidates) {
            return Err(invalid_option(
                "init_candidates",
                format!(
                    "must be between 1 and {MAX_INIT_CANDIDATES}, got {}",
                    o.init_candidates
                ),
            ));
        }
        if o.split_merge_moves > MAX_SPLIT_MERGE_MOVES {
            return Err(invalid_option(
                "split_merge_moves",
                format!(
                    "must be at most {MAX_SPLIT_MERGE_MOVES}, got {}",
                    o.split_merge_moves
                ),
            ));
        }
        if !(1..=MAX_N_INIT).contains(&o.n_init) {
            return Err(invalid_option(
                "n_init",
                format!("must be between 1 and {MAX_N_INIT}, got {}", o.n_init),
            ));
        }
        if o.init == InitMethod::EmEm && o.init_candidates.saturating_mul(o.n_init) > MAX_N_INIT {
            return Err(invalid_option(
                "init_candidates",
                format!(
                    "init_candidates × n_init = {} × {} em-EM short runs; at most {MAX_N_INIT} in all",
                    o.init_candidates, o.n_init
                ),
            ));
        }
        if o.init_iter == 0 {
            return Err(invalid_option("init_iter", "must be at least 1, got 0"));
        }
        if let Some(m) = o.init_sample {
            if m < o.n_components {
                return Err(invalid_option(
                    "init_sample",
                    format!(
                        "must be at least n_components = {} (rows to start {} components \
                         from), got {m}",
                        o.n_components, o.n_components
                    ),
                ));
            }
        }
        if !(o.step_exponent > 0.5 && o.step_exponent <= 1.0) {
            return Err(invalid_option(
                "step_exponent",
                format!(
                    "must be in (0.5, 1] (online EM's step sizes (t + 2)^(−κ) must sum to \
                     infinity and their squares not), got {}",
                    o.step_exponent
                ),
            ));
        }
        if o.average_from == Some(0) {
            return Err(invalid_option(
                "average_from",
                "must be at least 1 (the first update after the warm-up batch), got 0",
            ));
        }
        if !(o.tol.is_finite() && o.tol >= 0.0) {
            return Err(invalid_option(
                "tol",
                format!("must be a finite number ≥ 0, got {}", o.tol),
            ));
        }
        if !(o.reg_covar.is_finite() && o.reg_covar >= 0.0) {
            return Err(invalid_option(
                "reg_covar",
                format!("must be a finite number ≥ 0, got {}", o.reg_covar),
            ));
        }
        if let Some(v) = o.variance_floor {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid_option(
                    "variance_floor",
                    format!("must be a finite number ≥ 0, got {v}"),
                ));
            }
        }
        if let Some(names) = &o.feature_names {
            check_feature_names(names, None)?;
        }
        if let Some(t) = o.n_threads {
            if !(1..=MAX_THREADS).contains(&t) {
                return Err(invalid_option(
                    "n_threads",
                    format!(
                        "must be between 1 and {MAX_THREADS} (or unset for all cores), got {t}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GaussianMixture;

    /// Every out-of-range option is refused by `validate` (and so by every fit),
    /// naming the option.
    #[test]
    fn validate_refuses_each_bad_option_by_name() {
        let b = || GaussianMixture::params(2);
        let cases: Vec<(GmmOptions, &str)> = vec![
            (GaussianMixture::params(0), "n_components"),
            (b().n_init(0), "n_init"),
            (b().max_iter(0), "max_iter"),
            (b().init_candidates(0), "init_candidates"),
            (
                b().init_candidates(MAX_INIT_CANDIDATES + 1),
                "init_candidates",
            ),
            (b().init_iter(0), "init_iter"),
            (b().tol(-1.0), "tol"),
            (b().tol(f64::NAN), "tol"),
            (b().reg_covar(-1e-6), "reg_covar"),
            (b().reg_covar(f64::INFINITY), "reg_covar"),
            (b().variance_floor(-1.0), "variance_floor"),
            (b().n_threads(0), "n_threads"),
            (b().n_threads(MAX_THREADS + 1), "n_threads"),
            (
                b().feature_names(Some(vec!["a".into(), "a".into()])),
                "feature_names",
            ),
            (
                b().feature_names(Some(vec![String::new()])),
                "feature_names",
            ),
        ];
        let x = ndarray::array![[0.0], [1.0], [2.0], [3.0]];
        for (opts, name) in cases {
            match opts.validate() {
                Err(GmmError::InvalidOption { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
            match opts.fit(&x) {
                Err(GmmError::InvalidOption { name: got, .. }) => assert_eq!(got, name),
                other => panic!("fit with a bad {name}: {other:?}"),
            }
        }
        // The count is checked at fit, against the data.
        let two = b().feature_names(Some(vec!["a".into(), "b".into()]));
        assert!(two.validate().is_ok());
        assert!(matches!(
            two.fit(&x),
            Err(GmmError::InvalidOption {
                name: "feature_names",
                ..
            })
        ));
        let o = b().tol(0.0).reg_covar(0.0).variance_floor(0.0).n_threads(1);
        assert_eq!((o.n_components, o.tol, o.n_threads), (2, 0.0, Some(1)));
        assert!(o.validate().is_ok());
        // A value assembled field by field.
        let o = GmmOptions {
            max_iter: 0,
            ..GmmOptions::default()
        };
        assert!(matches!(
            o.validate(),
            Err(GmmError::InvalidOption {
                name: "max_iter",
                ..
            })
        ));
    }

    #[test]
    fn defaults_are_scikit_learns() {
        let o = GaussianMixture::params(3);
        assert_eq!(o.covariance_type, CovarianceType::Full);
        assert_eq!(
            (o.n_init, o.max_iter, o.tol, o.reg_covar),
            (1, 100, 1e-3, 1e-6)
        );
        assert_eq!(o.variance_floor, None);
        assert!(o.start.is_empty());
    }
}
