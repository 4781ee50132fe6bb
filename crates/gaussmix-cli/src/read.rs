//! Data files for the commands: `-` for stdin, the readers of `gaussmix-io` (CSV/TSV
//! text, `.npy`) with their errors as [`CliError`]s, and columns given by name or
//! index on the command line.

use std::io::Read;

pub use gaussmix_io::{ReadOptions, Table};

use crate::error::{CliError, CliResult};

/// Reads `path` (`-` for stdin) as CSV/TSV or `.npy` by its extension or first bytes.
pub fn read_table(path: &str, opts: &ReadOptions) -> CliResult<Table> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::data(format!("cannot read stdin: {e}")))?;
        return Ok(gaussmix_io::parse_bytes(&bytes, "<stdin>", opts)?);
    }
    Ok(gaussmix_io::read_file(path, opts)?)
}

/// Resolves a column given by name or 0-based index; `source` (the flag) starts the
/// message if there is no such column.
pub fn resolve(table: &Table, spec: &str, source: &str) -> CliResult<usize> {
    let spec = spec.trim();
    if let Some(j) = table.columns().iter().position(|c| c == spec) {
        return Ok(j);
    }
    match spec.parse::<usize>() {
        Ok(j) if j < table.n_cols() => Ok(j),
        _ => Err(CliError::usage(format!(
            "{source}: no column {spec:?}; columns are {} (names or 0-based indices)",
            table.columns().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_resolve_by_name_then_index() {
        let names = vec!["b".to_string(), "0".to_string()];
        let t = Table::new(vec![1.0, 2.0], 1, 2, Some(names)).unwrap();
        assert_eq!(resolve(&t, " b ", "--columns").unwrap(), 0);
        // A name wins over an index.
        assert_eq!(resolve(&t, "0", "--columns").unwrap(), 1);
        assert_eq!(resolve(&t, "1", "--columns").unwrap(), 1);
        let e = resolve(&t, "2", "--columns").unwrap_err();
        assert_eq!(e.code, 2);
        assert_eq!(
            e.message,
            "--columns: no column \"2\"; columns are b, 0 (names or 0-based indices)"
        );
    }
}
