//! Column selection: the tokens of [`ReadOptions`] (`columns`, `exclude`, `keep`,
//! `weight_column`) resolved against a file's column names into a [`Plan`].

use crate::error::{ReadError, Result};
use crate::options::ReadOptions;

/// Which of a file's columns are read, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Every column's name in the file (the header's, else the 0-based indices).
    pub names: Vec<String>,
    /// The feature columns, in the user's order.
    pub features: Vec<usize>,
    /// The weight column.
    pub weight: Option<usize>,
    /// Columns copied as text.
    pub keep: Vec<usize>,
}

impl Plan {
    /// The columns parsed as numbers: the features, then the weight column.
    pub fn numeric(&self) -> impl Iterator<Item = usize> + '_ {
        self.features.iter().copied().chain(self.weight)
    }

    /// Every column read at all (numeric or kept), ascending, without repeats.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub fn used(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self.numeric().chain(self.keep.iter().copied()).collect();
        used.sort_unstable();
        used.dedup();
        used
    }
}

fn no_such(file: &str, option: &str, token: &str, names: &[String]) -> ReadError {
    ReadError::NoSuchColumn {
        file: file.to_string(),
        option: option.to_string(),
        token: token.to_string(),
        available: names.to_vec(),
    }
}

/// One end of a range, or a single token: a name, else a 0-based index.
fn one(token: &str, names: &[String]) -> Option<usize> {
    if let Some(j) = names.iter().position(|n| n == token) {
        return Some(j);
    }
    token.parse::<usize>().ok().filter(|&j| j < names.len())
}

/// A name the header gives to several columns cannot choose one of them.
fn unambiguous(file: &str, option: &str, token: &str, names: &[String]) -> Result<()> {
    let at: Vec<String> = (0..names.len())
        .filter(|&j| names[j] == token)
        .map(|j| j.to_string())
        .collect();
    if at.len() > 1 {
        return Err(ReadError::Options {
            file: file.to_string(),
            reason: format!(
                "{option}: the header names {} columns {token:?} (columns {}); choose them by 0-based index",
                at.len(),
                at.join(" and ")
            ),
        });
    }
    Ok(())
}

/// The columns one token means, in order.
fn resolve(file: &str, option: &str, token: &str, names: &[String]) -> Result<Vec<usize>> {
    let t = token.trim();
    unambiguous(file, option, t, names)?;
    if let Some(j) = names.iter().position(|n| n == t) {
        return Ok(vec![j]);
    }
    if let Some((a, b)) = t.split_once("..") {
        // An open end is the first or the last column (`2..`, `..petal_width`); a bad
        // end is named by itself, so `1..9` on 6 columns says there is no column 9.
        let (a, b) = (a.trim(), b.trim());
        let end = |e: &str, open: usize| {
            if e.is_empty() {
                Ok(open)
            } else {
                unambiguous(file, option, e, names)?;
                one(e, names).ok_or_else(|| no_such(file, option, e, names))
            }
        };
        let ja = end(a, 0)?;
        let jb = end(b, names.len().saturating_sub(1))?;
        if ja > jb {
            return Err(ReadError::ReversedRange {
                file: file.to_string(),
                option: option.to_string(),
                token: t.to_string(),
                available: names.to_vec(),
            });
        }
        return Ok((ja..=jb).collect());
    }
    one(t, names)
        .map(|j| vec![j])
        .ok_or_else(|| no_such(file, option, t, names))
}

fn resolve_all(
    file: &str,
    option: &str,
    tokens: &[String],
    names: &[String],
) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for t in tokens {
        out.extend(resolve(file, option, t, names)?);
    }
    Ok(out)
}

/// Resolves `opts`' tokens against `names` (every column of `file`). `default_skip`
/// says which columns the default "all columns" leaves out (e.g. pandas' stored
/// index in Parquet).
pub(crate) fn plan(
    file: &str,
    names: Vec<String>,
    opts: &ReadOptions,
    default_skip: impl Fn(&str) -> bool,
) -> Result<Plan> {
    let options = |reason: String| ReadError::Options {
        file: file.to_string(),
        reason,
    };
    let weight = match &opts.weight_column {
        None => None,
        Some(t) => match resolve(file, "weight column", t, &names)?.as_slice() {
            [j] => Some(*j),
            _ => {
                return Err(options(format!(
                    "the weight column {t:?} must be one column, not a range"
                )))
            }
        },
    };
    let keep = resolve_all(file, "keep", &opts.keep, &names)?;
    let exclude = resolve_all(file, "exclude", &opts.exclude, &names)?;
    let features: Vec<usize> = match &opts.columns {
        Some(tokens) => {
            let cols = resolve_all(file, "columns", tokens, &names)?;
            if let Some(w) = weight.filter(|w| cols.contains(w)) {
                return Err(options(format!(
                    "column {:?} is the weight column and cannot also be a feature; leave it out of columns",
                    names[w]
                )));
            }
            cols.into_iter().filter(|j| !exclude.contains(j)).collect()
        }
        None => (0..names.len())
            .filter(|j| {
                Some(*j) != weight
                    && !exclude.contains(j)
                    && !keep.contains(j)
                    && !default_skip(&names[*j])
            })
            .collect(),
    };
    if features.is_empty() {
        return Err(options(format!(
            "no feature columns are left to read (columns are {}); check columns, exclude, keep and the weight column",
            list(&names)
        )));
    }
    Ok(Plan {
        names,
        features,
        weight,
        keep,
    })
}

/// Column names for a message: `a, b, ""` (an empty name quoted).
pub(crate) fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            if n.is_empty() {
                "\"\"".to_string()
            } else {
                n.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tokens_resolve() {
        let n = names(&["id", "a", "2", "b", "c"]);
        let cases: &[(&[&str], Vec<usize>)] = &[
            (&["a"], vec![1]),
            (&["1..3"], vec![1, 2, 3]),
            (&["a..c", "0"], vec![1, 2, 3, 4, 0]),
            (&["2"], vec![2]), // the name "2" (index 2 too here)
            (&["b..4"], vec![3, 4]),
            (&[" c "], vec![4]),
            (&["b.."], vec![3, 4]),
            (&["..1"], vec![0, 1]),
            (&["2.."], vec![2, 3, 4]),
        ];
        for (tokens, want) in cases {
            let opts = ReadOptions::default().with_columns(tokens.iter().copied());
            let p = plan("f", n.clone(), &opts, |_| false).unwrap();
            assert_eq!(&p.features, want, "{tokens:?}");
        }
        // A name wins over an index.
        let n2 = names(&["x", "y", "0"]);
        let p = plan("f", n2, &ReadOptions::default().with_columns(["0"]), |_| {
            false
        })
        .unwrap();
        assert_eq!(p.features, [2]);
    }

    #[test]
    fn errors_name_the_columns() {
        let n = names(&["", "a", "b"]);
        let cases: &[(ReadOptions, &str)] = &[
            (ReadOptions::default().with_columns(["z"]), "f: columns: no column \"z\"; columns are \"\", a, b (names, 0-based indices, or ranges A..B)"),
            (ReadOptions::default().with_exclude(["3"]), "f: exclude: no column \"3\"; columns are \"\", a, b (names, 0-based indices, or ranges A..B)"),
            (ReadOptions::default().with_columns(["b..a"]), "f: columns: the range \"b..a\" runs backwards; write it low..high; columns are \"\", a, b"),
            (ReadOptions::default().with_columns(["a..z"]), "f: columns: no column \"z\"; columns are \"\", a, b (names, 0-based indices, or ranges A..B)"),
            (ReadOptions::default().with_columns(["1..9"]), "f: columns: no column \"9\"; columns are \"\", a, b (names, 0-based indices, or ranges A..B)"),
            (ReadOptions::default().with_columns(["a"]).with_weight_column("a"), "f: column \"a\" is the weight column and cannot also be a feature; leave it out of columns"),
            (ReadOptions::default().with_weight_column("0..1"), "f: the weight column \"0..1\" must be one column, not a range"),
            (ReadOptions::default().with_exclude(["0..2"]), "f: no feature columns are left to read (columns are \"\", a, b); check columns, exclude, keep and the weight column"),
        ];
        for (opts, want) in cases {
            let e = plan("f", n.clone(), opts, |_| false).unwrap_err();
            assert_eq!(e.to_string(), *want);
        }
    }

    #[test]
    fn defaults_leave_out_weight_keep_and_exclude() {
        let n = names(&["id", "a", "b", "w", "c"]);
        let opts = ReadOptions::default()
            .with_keep(["id"])
            .with_weight_column("w")
            .with_exclude(["c"]);
        let p = plan("f", n, &opts, |_| false).unwrap();
        assert_eq!(
            (p.features, p.weight, p.keep),
            (vec![1, 2], Some(3), vec![0])
        );
    }
}
