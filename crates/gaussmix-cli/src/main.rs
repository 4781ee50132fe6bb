//! `gaussmix`: fit, inspect and use Gaussian mixture models from the shell.

fn main() -> std::process::ExitCode {
    gaussmix_cli::cli::main()
}
