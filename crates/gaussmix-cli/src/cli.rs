//! The `gaussmix` command line: argument definitions and dispatch.
//!
//! One set of flags: the data-reading flags ([`DataArgs`]) are on every command that
//! reads data, the EM flags ([`EmArgs`]) and the fit flags ([`FitFlags`]) on both `fit`
//! and `select`, and `-k`, `-o` (with `-` for stdout) and `--json` mean the same
//! everywhere.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{apply_cmd, convert_cmd, demo, fit_cmd, info_cmd, select_cmd};

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

/// How data files are read (every command that reads data).
#[derive(Args, Clone, Debug, Default)]
pub struct DataArgs {
    /// Field delimiter: a character, "tab" or "space" [default: by extension (.tsv
    /// tab, .csv comma), else sniffed among , ; tab | and spaces].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Whether the first row holds column names: auto (when a field is not a number,
    /// or pandas' 0,1,… names), yes or no.
    #[arg(long, value_name = "auto|yes|no", default_value = "auto")]
    pub header: String,
    /// Columns to use: header names, 0-based indices and inclusive ranges A..B (or
    /// open, A.. and ..B), mixed and comma-separated; quote a name holding a comma
    /// ('"a, b",c') [default: all but --exclude and --weight-column].
    #[arg(long, value_name = "COLS", value_parser = crate::input::column_tokens)]
    pub columns: Option<Vec<Vec<String>>>,
    /// Columns to leave out (same forms as --columns), e.g. an id or a label.
    #[arg(long, value_name = "COLS", value_parser = crate::input::column_tokens)]
    pub exclude: Vec<Vec<String>>,
    /// Decimal separator: "." or "," (then the delimiter is never a comma).
    #[arg(long, value_name = "CHAR", default_value = ".")]
    pub decimal: String,
    /// Missing cells (empty, NA, N/A, NaN, null, None, #N/A, …): error, or drop the
    /// incomplete rows (predict and score then leave their output rows empty).
    #[arg(long, value_name = "error|drop", default_value = "error")]
    pub missing: String,
}

/// EM options shared by `fit` and `select`.
#[derive(Args, Debug)]
pub struct EmArgs {
    /// How each restart starts: em-em (short runs from several starts, Lloyd's k-means
    /// and k-means++ in turn and one Ward start, the best continued, then
    /// split-and-merge moves; measured best, see bench/README.md "Optima"), kmeans++,
    /// greedy-kmeans++, kmeans (scikit-learn's), hierarchical (mclust's, Ward on a
    /// sample), random or random-from-data.
    #[arg(long, default_value = "em-em", value_name = "METHOD")]
    pub init: String,
    /// em-em: short runs per restart (the best --n-init of all of them continue)
    /// [default: 5].
    #[arg(long, value_name = "N")]
    pub init_candidates: Option<usize>,
    /// em-em: EM iterations every start gets before the best is continued (on a sample
    /// of the rows for large data) [default: 20].
    #[arg(long, value_name = "N")]
    pub init_iter: Option<usize>,
    /// em-em: split-and-merge moves tried from the winning restart, at most two per
    /// restart (two components merged, a third split, EM from there, kept if it ends
    /// higher; K >= 3; skipped when half the restarts agree; 0 = none) [default: 16].
    #[arg(long, value_name = "N")]
    pub split_merge_moves: Option<usize>,
    /// Let a spurious optimum (a component on fewer rows than its covariance needs, or
    /// collapsed onto near-identical rows) win the restarts; by default it only wins
    /// when every restart is spurious, with a warning.
    #[arg(long)]
    pub allow_spurious: bool,
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
    /// Start every restart from a seeded uniform sample of N rows, then run EM on all
    /// rows [default: all rows; 100000 with --stream].
    #[arg(long, value_name = "N")]
    pub init_sample: Option<usize>,
}

/// The fitting flags shared by `fit` and `select`.
#[derive(Args, Debug)]
pub struct FitFlags {
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
    /// No summary and no progress bar (warnings are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Treat warnings (not converged, degenerate components, suspicious columns …)
    /// as errors: exit 1 and write nothing.
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON on stdout instead of text on stderr.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Data file: CSV/TSV (optionally .gz/.zst), .npy or .parquet; `-` reads stdin.
    pub data: String,
    /// Number of mixture components (may be omitted with --init-model).
    #[arg(short = 'k', long = "components", value_name = "K")]
    pub k: Option<usize>,
    /// Covariance type: full, tied, diag or spherical [default: full].
    #[arg(long = "covariance", value_name = "TYPE")]
    pub covariance: Option<String>,
    #[command(flatten)]
    pub em: EmArgs,
    #[command(flatten)]
    pub flags: FitFlags,
    /// Start from this model file (at least covariance_type, weights, means, covariances).
    #[arg(long, value_name = "FILE")]
    pub init_model: Option<PathBuf>,
    /// Write the model here (default and `-`: stdout).
    #[arg(short = 'o', long = "output", value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Also draw the fit (.png or .svg) and its convergence curve next to it.
    #[arg(long, value_name = "FIG")]
    pub plot: Option<PathBuf>,
    /// Read the data from the file on every pass instead of loading it: memory does not
    /// grow with the rows (the init sample, plus a few MB), and the fit equals the
    /// in-memory fit with the same --init-sample bit for bit. C-order .npy files
    /// (float64, or float32 computed as --dtype f32), Parquet, and uncompressed text
    /// (re-parsed every pass: slower; `gaussmix convert` it to .npy once); starts from
    /// --init-sample rows (default 100000).
    #[arg(long)]
    pub stream: bool,
    #[command(flatten)]
    pub online: OnlineArgs,
    #[command(flatten)]
    pub panel: PanelArgs,
    #[command(flatten)]
    pub frame: FrameArgs,
    #[command(flatten)]
    pub data_args: DataArgs,
}

/// Online (mini-batch, stepwise) EM: `fit --online`.
#[derive(Args, Debug, Clone, Default)]
pub struct OnlineArgs {
    /// Online (stepwise) EM: read the data in batches and update the model after each,
    /// in bounded memory; DATA may be an endless stdin stream (`-`). The first batch is
    /// fitted as `fit` would (or starts from --init-model).
    #[arg(long)]
    pub online: bool,
    /// --online: rows per batch [default: 10000].
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// --online: passes over the data [default: 1; stdin: one].
    #[arg(long, value_name = "P")]
    pub passes: Option<usize>,
    /// --online: κ of the step sizes (t + 2)^(−κ), in (0.5, 1] [default: 0.6].
    #[arg(long, value_name = "K")]
    pub step_exponent: Option<f64>,
    /// --online: write the model (with its running statistics) to -o every N batches,
    /// atomically; --resume continues from it.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// --online: Polyak–Ruppert averaging from the N-th update on: the model is the
    /// average of the running statistics since then (less noise at the end of a
    /// stationary stream) [default: from the second pass when --passes > 1, else off;
    /// 0: off].
    #[arg(long, value_name = "N")]
    pub average_from: Option<u64>,
    /// --online: continue from a checkpoint (a model file written by --online), where
    /// its pass stopped (stdin: with the rows that come).
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// --online: stop after N batches in this run (the model written keeps its running
    /// statistics: --resume continues where it stopped), e.g. for time-boxed jobs.
    #[arg(long, value_name = "N")]
    pub max_batches: Option<usize>,
}

impl OnlineArgs {
    /// The online-only flags given, by name.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--batch-size", self.batch_size.is_some()),
            ("--passes", self.passes.is_some()),
            ("--step-exponent", self.step_exponent.is_some()),
            ("--checkpoint-every", self.checkpoint_every.is_some()),
            ("--average-from", self.average_from.is_some()),
            ("--resume", self.resume.is_some()),
            ("--max-batches", self.max_batches.is_some()),
        ]
        .into_iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .collect()
    }
}

/// What the data figures draw (`plot`, and `fit --plot`).
#[derive(Args, Debug, Clone, Default)]
pub struct PanelArgs {
    /// Features to draw, by name or 0-based index: two for one scatter panel, more for
    /// a pairs matrix [default: the first two; with more than two features, a pairs
    /// matrix of the first --max-features].
    #[arg(long, value_name = "A,B[,C...]")]
    pub features: Option<String>,
    /// Draw a pairs matrix even for two features.
    #[arg(long)]
    pub pairs: bool,
    /// Most features the default pairs matrix shows [default: 10].
    #[arg(long, value_name = "N")]
    pub max_features: Option<usize>,
    /// Size and shade points by classification uncertainty (1 − max responsibility).
    #[arg(long)]
    pub uncertainty: bool,
    /// Draw the mixture's log-density contours on the 2-D panels.
    #[arg(long)]
    pub contours: bool,
    /// 1-D: the densities only, without the histogram and the rug.
    #[arg(long)]
    pub density_only: bool,
}

impl PanelArgs {
    /// The flags given, by name (to refuse them where no figure is drawn).
    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.features.is_some() {
            v.push("--features");
        }
        if self.pairs {
            v.push("--pairs");
        }
        if self.max_features.is_some() {
            v.push("--max-features");
        }
        if self.uncertainty {
            v.push("--uncertainty");
        }
        if self.contours {
            v.push("--contours");
        }
        if self.density_only {
            v.push("--density-only");
        }
        v
    }
}

/// Title and size of any figure.
#[derive(Args, Debug, Clone, Default)]
pub struct FrameArgs {
    /// Figure title [default: a description of what is drawn].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Figure width in pixels [default: depends on the figure].
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,
    /// Figure height in pixels [default: depends on the figure].
    #[arg(long, value_name = "PX")]
    pub height: Option<u32>,
}

impl FrameArgs {
    pub fn frame(&self) -> crate::plot::Frame {
        crate::plot::Frame {
            title: self.title.clone(),
            width: self.width,
            height: self.height,
        }
    }

    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.title.is_some() {
            v.push("--title");
        }
        if self.width.is_some() {
            v.push("--width");
        }
        if self.height.is_some() {
            v.push("--height");
        }
        v
    }
}

#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Data file: CSV/TSV (optionally .gz/.zst), .npy or .parquet; `-` reads stdin.
    pub data: String,
    /// Numbers of components: a range `1..10` (inclusive) or a list `2,3,5`.
    #[arg(
        short = 'k',
        long = "components",
        alias = "k",
        default_value = "1..10",
        value_name = "KS"
    )]
    pub k: String,
    /// Covariance types: `all` or a list such as `full,diag`.
    #[arg(long, default_value = "all", value_name = "TYPES")]
    pub covariance: String,
    /// Ranking criterion: bic, aic or icl (lower is better).
    #[arg(long, default_value = "bic", value_name = "C")]
    pub criterion: String,
    #[command(flatten)]
    pub em: EmArgs,
    #[command(flatten)]
    pub flags: FitFlags,
    /// Write the best model here (`-`: stdout).
    #[arg(short = 'o', long = "output", value_name = "BEST_MODEL.json")]
    pub output: Option<PathBuf>,
    /// Write the whole table as CSV here.
    #[arg(long, value_name = "FILE.csv")]
    pub table: Option<PathBuf>,
    /// Draw the criterion against k, one line per covariance type (.png or .svg).
    #[arg(long, value_name = "FIG")]
    pub plot: Option<PathBuf>,
    /// With --plot: show every candidate as the distance above the best on a log
    /// scale (by default families far off the best are clipped to the top edge).
    #[arg(long)]
    pub log_scale: bool,
    #[command(flatten)]
    pub frame: FrameArgs,
    #[command(flatten)]
    pub data_args: DataArgs,
}

/// `predict` and `score`: a model applied to data.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Model file written by `gaussmix fit` (`-` reads it from stdin).
    pub model: String,
    /// Data file: CSV/TSV (optionally .gz/.zst), .npy or .parquet; `-` reads stdin.
    pub data: String,
    /// Write here (`-`: stdout, the default); .npy and .parquet write binary.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Input columns copied in front of the output (names or indices), e.g. an id.
    #[arg(long, value_name = "COLS", value_parser = crate::input::column_tokens)]
    pub keep: Vec<Vec<String>>,
    /// Print JSON on stdout instead of CSV.
    #[arg(long)]
    pub json: bool,
    /// Read a C-order .npy file a block of rows at a time and write the results as
    /// they come (.csv or .npy output): memory stays small whatever the file's size,
    /// and the output is the same as without --stream.
    #[arg(long)]
    pub stream: bool,
    /// Treat warnings (columns matched by position, an index-like column …) as
    /// errors: exit 1 and write nothing.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

/// `gaussmix convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Data file: CSV/TSV (optionally .gz/.zst), .npy (any order) or .parquet; `-`
    /// reads text from stdin.
    pub data: String,
    /// Output: OUT.npy (a C-order array, what `fit --stream` reads) or OUT.parquet
    /// (keeps the column names); written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy|OUT.parquet")]
    pub output: PathBuf,
    /// Values written as float64, or float32 (half the size; values beyond its range
    /// are an error).
    #[arg(long, default_value = "f64", value_name = "TYPE")]
    pub dtype: String,
    /// Rows read and written at a time (memory is about this × columns × 8 bytes).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    pub chunk_rows: usize,
    /// No summary.
    #[arg(short, long)]
    pub quiet: bool,
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
        #[command(flatten)]
        apply: ApplyArgs,
        /// The K component probabilities of each row instead (columns proba_0 …).
        #[arg(long)]
        proba: bool,
    },
    /// Mean log-likelihood of the data (or one log p(x) per row with --per-sample).
    Score {
        #[command(flatten)]
        apply: ApplyArgs,
        /// One log-density per row instead of the mean (column log_likelihood).
        #[arg(long)]
        per_sample: bool,
    },
    /// Draw rows from a model (columns named as the model's features).
    Sample {
        /// Model file (`-` reads it from stdin).
        model: String,
        /// Number of rows.
        #[arg(short = 'n', value_name = "N")]
        n: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Add a last column `component`: the component each row came from.
        #[arg(long)]
        labels: bool,
        /// Write here (`-`: stdout, the default); .npy and .parquet write binary.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Draw a model over data: densities and histogram (1-D), scatter with ellipses
    /// (2-D), a pairs matrix (more).
    Plot {
        /// Model file (`-` reads it from stdin).
        model: String,
        /// Data file.
        data: String,
        /// Figure file, .png or .svg.
        #[arg(short = 'o', long = "output", value_name = "FIG")]
        output: PathBuf,
        #[command(flatten)]
        panel: PanelArgs,
        #[command(flatten)]
        frame: FrameArgs,
        #[command(flatten)]
        data_args: DataArgs,
    },
    /// Copy any data we read into a .npy or .parquet file, a chunk of rows at a time
    /// (bounded memory): e.g. for `fit --stream`, fastest on C-order .npy files.
    Convert(ConvertArgs),
    /// Describe a model file.
    Info {
        /// Model file (`-` reads it from stdin).
        model: String,
        /// Every feature and component (the default shortens wide models).
        #[arg(long)]
        full: bool,
        /// Print JSON on stdout instead of text.
        #[arg(long)]
        json: bool,
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
        Command::Fit(a) => fit_cmd::run(&a),
        Command::Select(a) => select_cmd::run(&a),
        Command::Predict { apply, proba } => apply_cmd::predict(&apply, proba),
        Command::Score { apply, per_sample } => apply_cmd::score(&apply, per_sample),
        Command::Sample {
            model,
            n,
            seed,
            labels,
            output,
        } => apply_cmd::sample(&model, n, seed, labels, output.as_deref()),
        Command::Plot {
            model,
            data,
            output,
            panel,
            frame,
            data_args,
        } => apply_cmd::plot(&model, &data, &output, &panel, &frame, &data_args),
        Command::Convert(a) => convert_cmd::run(&a),
        Command::Info { model, full, json } => info_cmd::run(&model, full, json),
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
