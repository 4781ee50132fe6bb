//! The `gaussmix` command line: argument definitions and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{commands, demo, select_cmd};

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gaussmix",
    version,
    about = "Gaussian mixture models fitted by EM",
    long_about = None,
    allow_negative_numbers = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Force kernel choices (tests and benchmarks; builds with the `kernel-override`
    /// feature only): e.g. `kernel=gemm,simd=avx2,f32-full=anchored`.
    #[arg(long, global = true, hide = true, value_name = "SPEC")]
    kernel_override: Option<String>,
}

/// How data files are read.
#[derive(Args, Clone, Debug, Default)]
pub struct DataArgs {
    /// Field delimiter for text data (default: tab for .tsv/.tab, comma otherwise; "space"
    /// for whitespace-separated).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Columns to use, by header name or 0-based index, comma-separated (default: all).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
}

/// EM options shared by `fit` and `select`.
#[derive(Args, Debug)]
pub struct EmArgs {
    /// Initialisation: kmeans++, kmeans, random or random-from-data.
    #[arg(long, default_value = "kmeans++", value_name = "METHOD")]
    pub init: String,
    /// Restarts; the best final log-likelihood is kept.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub n_init: usize,
    /// Maximum EM iterations per restart.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_iter: usize,
    /// Stop when the mean log-likelihood changes by less than this.
    #[arg(
        long,
        default_value_t = 1e-3,
        value_name = "T",
        allow_hyphen_values = true
    )]
    pub tol: f64,
    /// Added to every covariance diagonal.
    #[arg(
        long,
        default_value_t = 1e-6,
        value_name = "R",
        allow_hyphen_values = true
    )]
    pub reg_covar: f64,
    /// Random seed; the same seed gives the same fit.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Worker threads [default: all cores]; results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl EmArgs {
    /// Fit options from these flags for `k` components.
    pub fn options(&self, k: usize) -> Result<gaussmix::GmmOptions, gaussmix::GmmError> {
        let mut b = gaussmix::GaussianMixture::params(k)
            .init(self.init.parse()?)
            .n_init(self.n_init)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .reg_covar(self.reg_covar)
            .seed(self.seed);
        if let Some(t) = self.threads {
            b = b.n_threads(t);
        }
        Ok(b)
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Data file: CSV, TSV or .npy; `-` reads CSV from stdin.
    pub data: String,
    /// Number of mixture components (may be omitted with --init-model).
    #[arg(short = 'k', long = "components", value_name = "K")]
    pub k: Option<usize>,
    /// Covariance type: full, tied, diag or spherical [default: full].
    #[arg(long = "covariance", value_name = "TYPE")]
    pub covariance: Option<String>,
    #[command(flatten)]
    pub em: EmArgs,
    /// Start from this model file (at least covariance_type, weights, means, covariances).
    #[arg(long, value_name = "FILE")]
    pub init_model: Option<PathBuf>,
    /// Clamp every variance to at least this value (off by default).
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    pub variance_floor: Option<f64>,
    /// Re-seed components that die or collapse (reported in the model's fit record)
    /// instead of failing.
    #[arg(long)]
    pub recover: bool,
    /// Precision of the data in memory: f64, or f32 for half the memory (full, diag and
    /// spherical then also compute in f32, ~1.8× faster on large data; statistics and
    /// parameters stay f64).
    #[arg(long, default_value = "f64", value_name = "TYPE")]
    pub dtype: String,
    /// File with one non-negative weight per data row.
    #[arg(long, value_name = "FILE", conflicts_with = "weight_column")]
    pub weights: Option<PathBuf>,
    /// Data column (name or 0-based index) holding per-row weights.
    #[arg(long, value_name = "COL")]
    pub weight_column: Option<String>,
    /// Write the model here (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Also draw the fit (.png or .svg) and its convergence curve next to it.
    #[arg(long, value_name = "FIG")]
    pub plot: Option<PathBuf>,
    /// No summary and no progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the summary as JSON on stdout instead of text on stderr.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Data file: CSV, TSV or .npy; `-` reads CSV from stdin.
    pub data: String,
    /// Numbers of components: a range `1..10` (inclusive) or a list `2,3,5`.
    #[arg(long = "k", default_value = "1..10", value_name = "KS")]
    pub k: String,
    /// Covariance types: `all` or a list such as `full,diag`.
    #[arg(long, default_value = "all", value_name = "TYPES")]
    pub covariance: String,
    /// Ranking criterion: bic, aic or icl (lower is better).
    #[arg(long, default_value = "bic", value_name = "C")]
    pub criterion: String,
    #[command(flatten)]
    pub em: EmArgs,
    /// Write the best model here.
    #[arg(short = 'o', long = "output", value_name = "BEST_MODEL.json")]
    pub output: Option<PathBuf>,
    /// Write the whole table as CSV here.
    #[arg(long, value_name = "FILE.csv")]
    pub table: Option<PathBuf>,
    /// Draw the criterion against k, one line per covariance type (.png or .svg).
    #[arg(long, value_name = "FIG")]
    pub plot: Option<PathBuf>,
    /// Print the table as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a mixture to a data file and write the model.
    Fit(FitArgs),
    /// Choose the number of components and the covariance type by BIC, AIC or ICL.
    Select(SelectArgs),
    /// The most likely component of each row (or all probabilities with --proba).
    Predict {
        /// Model file written by `gaussmix fit`.
        model: PathBuf,
        /// Data file (CSV, TSV, .npy, or - for stdin).
        data: String,
        /// Print the K component probabilities of each row instead.
        #[arg(long)]
        proba: bool,
        /// Write here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        data_args: DataArgs,
    },
    /// Mean log-likelihood of the data (or one log p(x) per row with --per-sample).
    Score {
        /// Model file.
        model: PathBuf,
        /// Data file.
        data: String,
        /// One log-density per row instead of the mean.
        #[arg(long)]
        per_sample: bool,
        /// Write here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        data_args: DataArgs,
    },
    /// Draw rows from a model (CSV).
    Sample {
        /// Model file.
        model: PathBuf,
        /// Number of rows.
        #[arg(short = 'n', value_name = "N")]
        n: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Add a last column with the component each row came from.
        #[arg(long)]
        labels: bool,
        /// Write here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Draw a model over data: histogram (1-D) or scatter with ellipses (2-D and more).
    Plot {
        /// Model file.
        model: PathBuf,
        /// Data file.
        data: String,
        /// Figure file, .png or .svg.
        #[arg(short = 'o', long = "output", value_name = "FIG")]
        output: PathBuf,
        /// The two features (0-based) to show when there are more than two.
        #[arg(long, value_name = "I,J", default_value = "0,1")]
        features: String,
        #[command(flatten)]
        data_args: DataArgs,
    },
    /// Describe a model file.
    Info {
        /// Model file.
        model: PathBuf,
    },
    /// Run the original notebook's two examples on its data and draw its figures.
    Demo {
        /// Output folder for the figures and models.
        #[arg(
            short = 'o',
            long = "output",
            default_value = "gaussmix-demo",
            value_name = "DIR"
        )]
        output: PathBuf,
    },
}

/// Parses the arguments, runs the command, prints any error; returns the exit code
/// (0 success, 1 bad data or model, 2 usage).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(spec) = &cli.kernel_override {
        if let Err(e) = gaussmix::force_kernels(spec) {
            eprintln!("error: --kernel-override: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Fit(a) => commands::fit(&a),
        Command::Select(a) => select_cmd::run(&a),
        Command::Predict {
            model,
            data,
            proba,
            output,
            data_args,
        } => commands::predict(&model, &data, proba, output.as_deref(), &data_args),
        Command::Score {
            model,
            data,
            per_sample,
            output,
            data_args,
        } => commands::score(&model, &data, per_sample, output.as_deref(), &data_args),
        Command::Sample {
            model,
            n,
            seed,
            labels,
            output,
        } => commands::sample(&model, n, seed, labels, output.as_deref()),
        Command::Plot {
            model,
            data,
            output,
            features,
            data_args,
        } => commands::plot(&model, &data, &output, &features, &data_args),
        Command::Info { model } => commands::info(&model),
        Command::Demo { output } => demo::run(&output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}
