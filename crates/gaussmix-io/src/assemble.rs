//! Building a [`Table`] from a file's rows, whatever the format: the [`Plan`]'s
//! columns, the missing-value policy, weights, kept text columns and warnings.

use crate::error::{Place, ReadError, Result};
use crate::options::Missing;
use crate::select::Plan;
use crate::table::{Extras, KeptColumn, Table};

/// A numeric cell as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// A finite number.
    Number(f64),
    /// A missing value, described for messages (`"NA"`, `(empty field)`, `(null)`).
    Missing(String),
}

/// Collects rows into a [`Table`].
#[derive(Debug)]
pub(crate) struct Builder {
    file: String,
    plan: Plan,
    /// The plan's numeric columns (features, then the weight).
    numeric: Vec<usize>,
    named: bool,
    missing: Missing,
    values: Vec<f64>,
    weights: Vec<f64>,
    kept: Vec<Vec<String>>,
    dropped: Vec<usize>,
    /// Input index of each row kept.
    rows: Vec<usize>,
    n_input: usize,
    row: Vec<f64>,
    warnings: Vec<String>,
}

impl Builder {
    pub fn new(file: &str, plan: Plan, named: bool, missing: Missing) -> Builder {
        let kept = vec![Vec::new(); plan.keep.len()];
        Builder {
            file: file.to_string(),
            numeric: plan.numeric().collect(),
            plan,
            named,
            missing,
            values: Vec::new(),
            weights: Vec::new(),
            kept,
            dropped: Vec::new(),
            rows: Vec::new(),
            n_input: 0,
            row: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Adds a warning (a sentence starting with the file's name).
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Adds one input row at `place`: `cell(j)` reads column `j` as a number (called
    /// once for each feature and the weight column), `text(j)` as text (each kept
    /// column).
    pub fn push(
        &mut self,
        place: Place,
        mut cell: impl FnMut(usize) -> Result<Cell>,
        mut text: impl FnMut(usize) -> String,
    ) -> Result<()> {
        for (k, &j) in self.plan.keep.iter().enumerate() {
            self.kept[k].push(text(j));
        }
        self.row.clear();
        let mut complete = true;
        for k in 0..self.numeric.len() {
            let j = self.numeric[k];
            match cell(j)? {
                Cell::Number(v) => self.row.push(v),
                Cell::Missing(what) => {
                    if self.missing == Missing::Error {
                        return Err(ReadError::MissingValue {
                            file: self.file.clone(),
                            place,
                            column: j + 1,
                            column_name: self.plan.names[j].clone(),
                            what,
                        });
                    }
                    complete = false;
                }
            }
        }
        if complete {
            let d = self.plan.features.len();
            self.values.extend_from_slice(&self.row[..d]);
            if self.plan.weight.is_some() {
                self.weights.push(self.row[d]);
            }
            self.rows.push(self.n_input);
        } else {
            self.dropped.push(self.n_input);
        }
        self.n_input += 1;
        Ok(())
    }

    /// The table, with the index-column warning if the first column looks like one.
    pub fn finish(mut self) -> Result<Table> {
        let n = self.rows.len();
        if self.n_input == 0 {
            return Err(ReadError::NoDataRows { file: self.file });
        }
        if n == 0 {
            return Err(ReadError::AllRowsDropped {
                file: self.file,
                rows: self.n_input,
            });
        }
        if let Some(w) = self.index_warning() {
            self.warnings.push(w);
        }
        let d = self.plan.features.len();
        let names: Vec<String> = self
            .plan
            .features
            .iter()
            .map(|&j| self.plan.names[j].clone())
            .collect();
        let kept = self
            .plan
            .keep
            .iter()
            .zip(self.kept)
            .map(|(&j, values)| KeptColumn {
                name: self.plan.names[j].clone(),
                values,
            })
            .collect();
        let extras = Extras {
            weights: self.plan.weight.map(|_| self.weights),
            dropped_rows: self.dropped,
            n_input_rows: Some(self.n_input),
            kept,
            warnings: self.warnings,
            source_columns: Some(self.plan.names),
        };
        Ok(Table::new(self.values, n, d, self.named.then_some(names))?.with_extras(extras))
    }

    /// A warning if the file's first column is a feature and looks like a row index:
    /// an empty or `Unnamed: 0` header (pandas' `to_csv`, R's `write.csv`), or values
    /// 0..N−1 or 1..N.
    fn index_warning(&self) -> Option<String> {
        let k = self.plan.features.iter().position(|&j| j == 0)?;
        let name = &self.plan.names[0];
        let why = if self.named && name.is_empty() {
            "its header is empty, as pandas' to_csv and R's write.csv write the index".to_string()
        } else if self.named && (name == "Unnamed: 0" || name == "__index_level_0__") {
            "named as pandas names a saved index".to_string()
        } else {
            let d = self.plan.features.len();
            let col = self.values.iter().skip(k).step_by(d);
            let from = |base: usize| {
                self.rows.len() >= 3
                    && col
                        .clone()
                        .zip(&self.rows)
                        .all(|(&v, &i)| v == (i + base) as f64)
            };
            if from(0) {
                "its values are 0, 1, 2, …".to_string()
            } else if from(1) {
                "its values are 1, 2, 3, …".to_string()
            } else {
                return None;
            }
        };
        // A token that means the first column: its index, unless another column is
        // named "0" (a name wins over an index), then its name.
        let token = if self.plan.names.iter().skip(1).any(|n| n == "0") {
            format!("{name:?}")
        } else {
            "0".to_string()
        };
        Some(format!(
            "{}: the first column {name:?} ({why}) looks like a row index; exclude it (exclude {token}) unless it is a feature",
            self.file
        ))
    }
}
