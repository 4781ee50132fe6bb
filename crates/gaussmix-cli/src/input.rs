//! Inputs of the commands: data files (the readers of `gaussmix-io`, with the
//! data-reading flags turned into [`ReadOptions`]), model files (`-` for stdin), and
//! the match between a model's features and a data file's columns.

use std::io::Read;

use gaussmix::GaussianMixture;
pub use gaussmix_io::{ReadError, ReadOptions, Table};

use crate::error::{CliError, CliResult};
use crate::DataArgs;

/// One `--columns`/`--exclude`/`--keep` value split into tokens at commas outside
/// double quotes (so `"sepal, length",b` names two columns); `""` inside quotes is a
/// quote.
pub fn column_tokens(s: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => tokens.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced double quote in {s:?}"));
    }
    tokens.push(cur);
    Ok(tokens)
}

/// What the reading flags ask for, plus the command's own extras (`--weight-column`,
/// `--keep`).
pub fn read_options(
    a: &DataArgs,
    weight_column: Option<&str>,
    keep: &[String],
) -> CliResult<ReadOptions> {
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some("tab") | Some("\\t") => Some('\t'),
        Some("space") | Some(" ") => Some(' '),
        Some(s) if s.chars().count() == 1 => s.chars().next(),
        Some(s) => {
            return Err(CliError::usage(format!(
                "--delimiter {s:?}: give a single character, \"tab\" or \"space\""
            )))
        }
    };
    let decimal = match a.decimal.as_str() {
        "." => '.',
        "," => ',',
        s => {
            return Err(CliError::usage(format!(
                "--decimal {s:?}: expected \".\" or \",\""
            )))
        }
    };
    if decimal == ',' && delimiter == Some(',') {
        return Err(CliError::usage(
            "--decimal , with --delimiter ,: a comma cannot separate both fields and decimals; use --delimiter ';' (or tab)",
        ));
    }
    let mut opts = ReadOptions::default();
    opts.delimiter = delimiter;
    opts.header = a
        .header
        .parse()
        .map_err(|e| CliError::usage(format!("--{e}")))?;
    opts.missing = a
        .missing
        .parse()
        .map_err(|e| CliError::usage(format!("--{e}")))?;
    opts.decimal = decimal;
    // pandas' name for an unnamed column J, which the CLI also uses, means column J.
    let token = |t: &String| match t.strip_prefix("Unnamed: ") {
        Some(j) if j.parse::<usize>().is_ok() => j.to_string(),
        _ => t.clone(),
    };
    opts.columns = a
        .columns
        .as_ref()
        .map(|c| c.iter().flatten().map(token).collect());
    opts.exclude = a.exclude.iter().flatten().map(token).collect();
    opts.weight_column = weight_column.map(str::to_string);
    opts.keep = keep.iter().map(token).collect();
    Ok(opts)
}

/// The reader's warnings in the CLI's words.
pub fn read_warnings(t: &Table, a: &DataArgs, path: &str) -> Vec<String> {
    let mut w: Vec<String> = t
        .warnings()
        .iter()
        .map(|w| crate::error::read_words(w))
        .collect();
    if a.header == "auto" {
        w.extend(numeric_first_row(t, path));
        w.extend(numbers_as_names(t, path));
    }
    w
}

/// A header guessed from a first row that holds decimals among text (a headerless
/// file with an id column: `r0,0.12,-0.13`) was probably data: said, since the row is
/// then lost and the names are numbers.
fn numbers_as_names(t: &Table, path: &str) -> Option<String> {
    t.feature_names()?;
    let decimals: Vec<&String> = t
        .source_columns()
        .iter()
        .filter(|n| n.trim().parse::<f64>().is_ok_and(|v| v.fract() != 0.0))
        .collect();
    (!decimals.is_empty()).then(|| {
        format!(
            "{path}: the first row was read as column names, but {} of them {} numbers with decimals ({}); if that row is data, pass --header no",
            decimals.len(),
            if decimals.len() == 1 { "is" } else { "are" },
            decimals.iter().take(3).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// A first row of distinct whole numbers (pandas' names for a subset of columns, such
/// as `1,2,3`) above rows with decimals was probably a header: read as data, it would
/// be a wrong row, so it is said.
fn numeric_first_row(t: &Table, path: &str) -> Option<String> {
    if t.feature_names().is_some() || t.n_cols() < 2 || t.n_rows() < 2 {
        return None;
    }
    let first = t.row(0)?;
    let whole = |v: f64| v.fract() == 0.0 && (0.0..100_000.0).contains(&v);
    let mut seen = std::collections::HashSet::new();
    if !first.iter().all(|&v| whole(v) && seen.insert(v as i64)) {
        return None;
    }
    let later_decimals = (1..t.n_rows().min(100))
        .filter_map(|i| t.row(i))
        .any(|r| r.iter().any(|v| v.fract() != 0.0));
    later_decimals.then(|| {
        let names: Vec<String> = first.iter().map(|v| format!("{v}")).collect();
        format!(
            "{path}: the first row ({}) looks like column names (distinct whole numbers above rows with decimals, as pandas writes a subset of unnamed columns) but was read as data; pass --header yes if it is a header",
            names.join(",")
        )
    })
}

/// Reads all of stdin (a data file or a model given as `-`).
fn read_stdin(what: &str) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::data(format!("cannot read {what} from stdin: {e}")))?;
    Ok(bytes)
}

/// Reads `path` (`-` for stdin) as CSV/TSV, NPY or Parquet (by extension or first
/// bytes, compressed or not).
pub fn read_table(path: &str, opts: &ReadOptions) -> CliResult<Table> {
    Ok(read_raw(path, opts)??)
}

/// [`read_table`] with the reader's own error, for callers that explain some of them.
pub fn read_raw(path: &str, opts: &ReadOptions) -> CliResult<Result<Table, ReadError>> {
    if path == "-" {
        let bytes = read_stdin("data")?;
        return Ok(gaussmix_io::parse_bytes(&bytes, "<stdin>", opts));
    }
    Ok(gaussmix_io::read_file(path, opts))
}

/// Reads data for a model: as [`read_table`], but a text column that is not one of
/// the model's features is explained as such (it is the usual cause: an id or a label
/// next to the features).
pub fn read_for_model(path: &str, opts: &ReadOptions, model: &GaussianMixture) -> CliResult<Table> {
    match read_raw(path, opts)? {
        Ok(t) => Ok(t),
        Err(ReadError::NotANumber { column_name, .. })
            if opts.columns.is_none()
                && model
                    .feature_names()
                    .is_some_and(|n| !n.contains(&column_name)) =>
        {
            let names = model.feature_names().unwrap_or_default();
            Err(CliError::data(format!(
                "{path}: column {column_name:?} holds text and is not one of the model's features ({}); leave it out with --exclude {}",
                name_list(names, 10),
                crate::error::token(&column_name)
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a model file (`-` for stdin).
pub fn load_model(path: &str) -> CliResult<GaussianMixture> {
    let (text, name) = if path == "-" {
        let bytes = read_stdin("the model")?;
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::data("<stdin>: the model is not UTF-8 JSON"))?;
        (text, "<stdin>".to_string())
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::data(format!("cannot read model file {path}: {e}")))?;
        (text, path.to_string())
    };
    GaussianMixture::from_json(&text).map_err(|e| CliError::from(e).context(name))
}

/// Refuses a model and data both on stdin.
pub fn one_stdin(model: &str, data: &str) -> CliResult<()> {
    if model == "-" && data == "-" {
        return Err(CliError::usage(
            "the model and the data cannot both come from stdin (-); give one of them as a file",
        ));
    }
    Ok(())
}

/// `n` names, shortened past `max` ("a, b, c, … (64 in all)").
pub fn name_list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{}, … ({} in all)", names[..max].join(", "), names.len())
}

/// The table's columns in the model's feature order.
///
/// A model and a table that both have names are matched by name, whatever the
/// order: a feature the data lacks, or a data column the model does not know, is a
/// refusal naming them (no silent wrong answer). Otherwise the match is positional
/// and only the count is checked.
pub fn features_for(model: &GaussianMixture, table: &Table, data: &str) -> CliResult<Table> {
    let d = model.n_features();
    if let (Some(want), Some(have)) = (model.feature_names(), table.feature_names()) {
        let have = &feature_names(have, table.source_columns()).map_err(|e| e.context(data))?;
        let missing: Vec<String> = want.iter().filter(|n| !have.contains(n)).cloned().collect();
        let extra: Vec<String> = have.iter().filter(|n| !want.contains(n)).cloned().collect();
        if !missing.is_empty() || !extra.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!(
                    "missing {} the model was fitted on: {}",
                    plural(missing.len(), "column", "columns"),
                    name_list(&missing, 10)
                ));
            }
            if !extra.is_empty() {
                parts.push(format!(
                    "{} the model does not know: {} (leave {} out with --exclude)",
                    plural(extra.len(), "extra column", "extra columns"),
                    name_list(&extra, 10),
                    if extra.len() == 1 { "it" } else { "them" }
                ));
            }
            return Err(CliError::data(format!(
                "{data}: the columns do not match the model's features ({}); {}",
                name_list(want, 10),
                parts.join("; ")
            )));
        }
        let order: Vec<usize> = want
            .iter()
            .map(|n| have.iter().position(|h| h == n).unwrap_or(0))
            .collect();
        if order.iter().enumerate().all(|(i, &j)| i == j) {
            return Ok(table.clone());
        }
        return Ok(table.select(&order)?);
    }
    if table.n_cols() != d {
        return Err(CliError::data(format!(
            "{data} has {} but the model has {}; choose the model's columns with --columns or --exclude",
            plural(table.n_cols(), "column", "columns"),
            plural(d, "feature", "features")
        )));
    }
    Ok(table.clone())
}

/// A header's names as model feature names: an empty name (pandas' and R's index
/// column) becomes pandas' `Unnamed: J`; a name used twice is refused, since
/// predictions match columns by name.
///
/// `J` is the column's place in the file (`source`, all its columns), so the name does
/// not depend on which columns were chosen or in what order.
pub fn feature_names(names: &[String], source: &[String]) -> CliResult<Vec<String>> {
    let empty_in_source: Vec<usize> = (0..source.len())
        .filter(|&j| source[j].trim().is_empty())
        .collect();
    let names: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            if !n.trim().is_empty() {
                n.clone()
            } else if let [only] = empty_in_source[..] {
                format!("Unnamed: {only}")
            } else {
                format!("Unnamed: {j}")
            }
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(CliError::data(format!(
            "column {dup:?} is used twice (named twice in the header, or chosen twice with --columns); the model matches columns by name, so rename one or choose it once (or pass --header no to use positions)"
        )));
    }
    Ok(names)
}

/// "1 column", "3 columns".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(names: Option<&[&str]>) -> GaussianMixture {
        let x = ndarray::array![
            [0.0, 1.0, 2.0],
            [1.0, 2.5, 0.0],
            [2.0, 0.0, 1.0],
            [3.0, 1.0, 5.0]
        ];
        let mut o = GaussianMixture::params(1);
        if let Some(n) = names {
            o = o.feature_names(Some(n.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        }
        o.fit(&x).unwrap()
    }

    fn table(names: Option<&[&str]>) -> Table {
        Table::new(
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            2,
            3,
            names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        )
        .unwrap()
    }

    #[test]
    fn names_reorder_and_refuse() {
        let m = model(Some(&["a", "b", "c"]));
        let t = features_for(&m, &table(Some(&["c", "a", "b"])), "d.csv").unwrap();
        assert_eq!(t.values(), [2.0, 3.0, 1.0, 5.0, 6.0, 4.0]);
        assert_eq!(t.columns(), ["a", "b", "c"]);
        let e = features_for(&m, &table(Some(&["a", "b", "x"])), "d.csv").unwrap_err();
        assert_eq!(
            e.message,
            "d.csv: the columns do not match the model's features (a, b, c); missing 1 column the model was fitted on: c; 1 extra column the model does not know: x (leave it out with --exclude)"
        );
        // Positional without names on either side.
        let t = features_for(&m, &table(None), "d.csv").unwrap();
        assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let e = features_for(
            &model(None),
            &Table::new(vec![1.0; 4], 2, 2, None).unwrap(),
            "d.csv",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "d.csv has 2 columns but the model has 3 features; choose the model's columns with --columns or --exclude"
        );
    }

    #[test]
    fn column_tokens_respect_quotes() {
        assert_eq!(column_tokens("a,1..3").unwrap(), ["a", "1..3"]);
        assert_eq!(
            column_tokens("\"sepal, length\",b").unwrap(),
            ["sepal, length", "b"]
        );
        assert_eq!(column_tokens("\"a \"\"b\"\"\"").unwrap(), ["a \"b\""]);
        assert!(column_tokens("\"a,b").is_err());
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "component", "components"), "1 component");
        assert_eq!(plural(0, "component", "components"), "0 components");
    }
}
