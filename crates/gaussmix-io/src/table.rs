//! [`Table`]: a whole numeric matrix in memory, with its columns' names.

use crate::error::{ReadError, Result};

fn invalid(reason: String) -> ReadError {
    ReadError::InvalidTable { reason }
}

/// A row-major numeric matrix of `n_rows × n_cols` values with a name per column.
///
/// Columns have names either from the file (a CSV header: [`feature_names`] gives
/// them) or, without one, their 0-based index as text (`"0"`, `"1"`, …), so that
/// [`columns`] always has one name per column for lookups and labels. Tables from the
/// readers hold at least one row and one column, all values finite.
///
/// [`feature_names`]: Table::feature_names
/// [`columns`]: Table::columns
///
/// ```
/// use gaussmix_io::Table;
///
/// let t = Table::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, Some(vec!["x".into(), "y".into()]))?;
/// assert_eq!((t.n_rows(), t.n_cols()), (3, 2));
/// assert_eq!(t.row(1), Some(&[3.0, 4.0][..]));
/// assert_eq!(t.column(1), Some(vec![2.0, 4.0, 6.0]));
/// let y = t.select(&[1])?;
/// assert_eq!(y.feature_names(), Some(&["y".to_string()][..]));
///
/// let unnamed = Table::new(vec![0.5; 4], 2, 2, None)?;
/// assert_eq!(unnamed.columns(), ["0", "1"]);
/// assert_eq!(unnamed.feature_names(), None);
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    values: Vec<f64>,
    n_rows: usize,
    /// One per column: the header's names, or the indices as text.
    columns: Vec<String>,
    /// Whether `columns` came from the data (a header).
    named: bool,
    /// What the reader found beyond the features.
    extras: Extras,
}

/// A column copied from the input as raw text ([`ReadOptions::keep`]), one string
/// per input data row, dropped rows included.
///
/// [`ReadOptions::keep`]: crate::ReadOptions::keep
///
/// ```
/// use gaussmix_io::{parse_bytes, ReadOptions};
/// let t = parse_bytes(b"id,x\nr1,1\nr2,2\n", "d.csv", &ReadOptions::default().with_keep(["id"]))?;
/// assert_eq!(t.kept()[0].name, "id");
/// assert_eq!(t.kept()[0].values, ["r1", "r2"]);
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptColumn {
    /// The column's name (header, else 0-based index).
    pub name: String,
    /// One cell per input data row, as written (trimmed).
    pub values: Vec<String>,
}

/// What a reader records beside the feature values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Extras {
    pub weights: Option<Vec<f64>>,
    pub dropped_rows: Vec<usize>,
    /// `None`: as many as the table's rows.
    pub n_input_rows: Option<usize>,
    pub kept: Vec<KeptColumn>,
    pub warnings: Vec<String>,
    /// `None`: the table's own columns.
    pub source_columns: Option<Vec<String>>,
}

impl Table {
    /// A table of `n_rows × n_cols` row-major `values`, with the columns' names if
    /// there are any (`n_cols` of them). Errors if the sizes disagree or there are no
    /// columns.
    pub fn new(
        values: Vec<f64>,
        n_rows: usize,
        n_cols: usize,
        names: Option<Vec<String>>,
    ) -> Result<Table> {
        if n_cols == 0 {
            return Err(invalid("a table needs at least one column".into()));
        }
        if n_rows.checked_mul(n_cols) != Some(values.len()) {
            return Err(invalid(format!(
                "{} values do not fill {n_rows} rows × {n_cols} columns",
                values.len()
            )));
        }
        let named = names.is_some();
        let columns = match names {
            Some(names) if names.len() != n_cols => {
                return Err(invalid(format!(
                    "{} column names given for {n_cols} columns",
                    names.len()
                )))
            }
            Some(names) => names,
            None => (0..n_cols).map(|j| j.to_string()).collect(),
        };
        Ok(Table {
            values,
            n_rows,
            columns,
            named,
            extras: Extras::default(),
        })
    }

    /// The same table with what a reader found beside the values.
    pub(crate) fn with_extras(mut self, extras: Extras) -> Table {
        self.extras = extras;
        self
    }

    /// The weight column's values, one per row, if one was read
    /// ([`ReadOptions::weight_column`](crate::ReadOptions::weight_column)).
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, ReadOptions};
    /// let t = parse_bytes(b"x,w\n1,0.5\n2,2\n", "d.csv", &ReadOptions::default().with_weight_column("w"))?;
    /// assert_eq!(t.columns(), ["x"]);
    /// assert_eq!(t.weights(), Some(&[0.5, 2.0][..]));
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn weights(&self) -> Option<&[f64]> {
        self.extras.weights.as_deref()
    }

    /// The input data rows (0-based, ascending) skipped for a missing cell
    /// ([`Missing::Drop`](crate::Missing::Drop)).
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, Missing, ReadOptions};
    /// let t = parse_bytes(b"x\n1\nNA\n3\n", "d.csv", &ReadOptions::default().with_missing(Missing::Drop))?;
    /// assert_eq!((t.values(), t.dropped_rows(), t.n_input_rows()), (&[1.0, 3.0][..], &[1][..], 3));
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn dropped_rows(&self) -> &[usize] {
        &self.extras.dropped_rows
    }

    /// The number of data rows in the input, dropped rows included.
    ///
    /// ```
    /// let t = gaussmix_io::Table::new(vec![1.0, 2.0], 2, 1, None)?;
    /// assert_eq!(t.n_input_rows(), 2);
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn n_input_rows(&self) -> usize {
        self.extras.n_input_rows.unwrap_or(self.n_rows)
    }

    /// The kept (raw text) columns, in the order asked for.
    ///
    /// ```
    /// let t = gaussmix_io::Table::new(vec![1.0], 1, 1, None)?;
    /// assert!(t.kept().is_empty());
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn kept(&self) -> &[KeptColumn] {
        &self.extras.kept
    }

    /// What the reader guessed and the user may want to know (a header taken from
    /// pandas' default column names, a column that looks like a row index, …), one
    /// sentence each, starting with the file's name.
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, ReadOptions};
    /// let t = parse_bytes(b",a\n0,1.5\n1,2.5\n", "d.csv", &ReadOptions::default())?;
    /// assert_eq!(t.warnings().len(), 1);
    /// assert!(t.warnings()[0].contains("looks like a row index; exclude it"));
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.extras.warnings
    }

    /// Every column's name in the input (the header's, else the 0-based indices as
    /// text), selected or not; what column tokens are resolved against.
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, ReadOptions};
    /// let t = parse_bytes(b"a,b,c\n1,2,3\n", "d.csv", &ReadOptions::default().with_columns(["c"]))?;
    /// assert_eq!((t.columns(), t.source_columns()), (&["c".to_string()][..], &["a".to_string(), "b".into(), "c".into()][..]));
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn source_columns(&self) -> &[String] {
        self.extras
            .source_columns
            .as_deref()
            .unwrap_or(&self.columns)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns (at least 1).
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// All values, row after row.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values, row after row, without a copy.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }

    /// Row `i` (0-based), if there is one.
    pub fn row(&self, i: usize) -> Option<&[f64]> {
        let d = self.n_cols();
        self.values
            .get(i.checked_mul(d)?..i.checked_add(1)?.checked_mul(d)?)
    }

    /// A copy of column `j` (0-based), if there is one.
    pub fn column(&self, j: usize) -> Option<Vec<f64>> {
        if j >= self.n_cols() {
            return None;
        }
        Some(
            self.values
                .chunks_exact(self.n_cols())
                .map(|r| r[j])
                .collect(),
        )
    }

    /// One name per column: the file's names (a header), else `"0"`, `"1"`, ….
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The columns' names if the data had them (a CSV header); `None` for headerless
    /// text and NPY files.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.named.then_some(&self.columns[..])
    }

    /// A new table of the given columns (0-based, in the given order, repeats
    /// allowed), names included. Errors on an index past the last column or an empty
    /// list.
    pub fn select(&self, cols: &[usize]) -> Result<Table> {
        let d = self.n_cols();
        if let Some(&j) = cols.iter().find(|&&j| j >= d) {
            return Err(invalid(format!(
                "no column {j} (0-based) in a table of {d} columns"
            )));
        }
        if cols.is_empty() {
            return Err(invalid("select at least one column".into()));
        }
        let mut values = Vec::with_capacity(self.n_rows.saturating_mul(cols.len()));
        for row in self.values.chunks_exact(d) {
            values.extend(cols.iter().map(|&j| row[j]));
        }
        Ok(Table {
            values,
            n_rows: self.n_rows,
            columns: cols.iter().map(|&j| self.columns[j].clone()).collect(),
            named: self.named,
            extras: Extras {
                source_columns: Some(self.source_columns().to_vec()),
                ..self.extras.clone()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Table::new(vec![1.0; 3], 2, 2, None).is_err());
        assert!(Table::new(vec![], 0, 0, None).is_err());
        assert!(Table::new(vec![], usize::MAX, 2, None).is_err());
        assert!(Table::new(vec![1.0; 2], 1, 2, Some(vec!["a".into()])).is_err());
        let t = Table::new(vec![], 0, 2, None).unwrap();
        assert_eq!((t.n_rows(), t.column(1)), (0, Some(vec![])));
    }

    #[test]
    fn lookups_out_of_range_are_none_or_errors() {
        let t = Table::new(vec![1.0, 2.0, 3.0, 4.0], 2, 2, None).unwrap();
        assert_eq!(t.row(2), None);
        assert_eq!(t.row(usize::MAX), None);
        assert_eq!(t.column(2), None);
        let e = t.select(&[0, 2]).unwrap_err();
        assert!(e.to_string().contains("no column 2"), "{e}");
        assert!(t.select(&[]).is_err());
        let s = t.select(&[1, 1, 0]).unwrap();
        assert_eq!(s.values(), [2.0, 2.0, 1.0, 4.0, 4.0, 3.0]);
        assert_eq!(s.columns(), ["1", "1", "0"]);
        assert_eq!(s.feature_names(), None);
    }
}
