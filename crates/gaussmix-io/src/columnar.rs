//! Parquet files (pandas' `to_parquet`, pyarrow, Spark, …) through the Apache Arrow
//! Rust crates: read a batch of rows at a time, only the selected columns decoded.
//!
//! (Arrow IPC / Feather files are refused with a typed error: `arrow-ipc` 60 aborts
//! the process, uncatchably, on a corrupt compressed buffer's length prefix.)

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;

use crate::assemble::{Builder, Cell};
use crate::error::{Place, ReadError, Result};
use crate::options::ReadOptions;
use crate::select::{plan, Plan};
use crate::table::Table;

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8192;

/// Whether a column is pandas' stored index (`__index_level_0__`), left out of the
/// default features.
fn is_pandas_index(name: &str) -> bool {
    name.starts_with("__index_level_") && name.ends_with("__")
}

fn is_number_type(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64
    )
}

fn is_text_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
    ) || is_number_type(t)
}

/// A column's values as f64 (`None` for nulls), if its type is a number type.
fn numbers(a: &ArrayRef) -> Option<Vec<Option<f64>>> {
    macro_rules! prim {
        ($t:ty) => {
            a.as_primitive::<$t>()
                .iter()
                .map(|v| v.map(|x| x as f64))
                .collect()
        };
    }
    Some(match a.data_type() {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        _ => return None,
    })
}

/// A column's values as text (`""` for nulls).
fn texts(a: &ArrayRef) -> Option<Vec<String>> {
    let own = |v: Option<&str>| v.unwrap_or_default().to_string();
    Some(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().iter().map(own).collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().map(own).collect(),
        DataType::Utf8View => a.as_string_view().iter().map(own).collect(),
        DataType::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.map(|b| b.to_string()).unwrap_or_default())
            .collect(),
        _ => numbers(a)?
            .into_iter()
            .map(|v| v.map(|x| x.to_string()).unwrap_or_default())
            .collect(),
    })
}

pub(crate) fn parquet_error(name: &str, e: &dyn std::fmt::Display) -> ReadError {
    ReadError::Parquet {
        file: name.to_string(),
        reason: e.to_string(),
    }
}

/// The plan for `schema`'s columns, its types checked.
pub(crate) fn checked_plan(name: &str, schema: &Schema, opts: &ReadOptions) -> Result<Plan> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let plan = plan(name, names, opts, is_pandas_index)?;
    let type_error = |j: usize, expected: &str| ReadError::ColumnType {
        file: name.to_string(),
        column: plan.names[j].clone(),
        data_type: schema.field(j).data_type().to_string(),
        expected: expected.to_string(),
    };
    for j in plan.numeric() {
        if !is_number_type(schema.field(j).data_type()) {
            return Err(type_error(
                j,
                "which is not a number type (integers and floats are read)",
            ));
        }
    }
    for &j in &plan.keep {
        if !is_text_type(schema.field(j).data_type()) {
            return Err(type_error(
                j,
                "which cannot be kept as text (strings, numbers and booleans can be)",
            ));
        }
    }
    Ok(plan)
}

/// Runs a reader of third-party decoders, turning a panic on corrupt input (which
/// they should not have, but a reader of this crate must never pass on) into `err`.
fn guarded(read: impl FnOnce() -> Result<Table>, err: impl FnOnce() -> ReadError) -> Result<Table> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| Err(err()))
}

/// Reads Parquet data from `reader` (a [`std::fs::File`] or bytes) as `opts` say:
/// columns by name or index, integers and floats as f64, nulls and NaN missing.
pub(crate) fn read_parquet<R: ChunkReader + 'static>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
) -> Result<Table> {
    guarded(
        || read_parquet_unguarded(reader, name, opts),
        || parquet_error(name, &"the file is corrupt (the decoder failed)"),
    )
}

fn read_parquet_unguarded<R: ChunkReader + 'static>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
) -> Result<Table> {
    let err = |e: &dyn std::fmt::Display| parquet_error(name, e);
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader).map_err(|e| err(&e))?;
    let plan = checked_plan(name, builder.schema(), opts)?;
    let used = plan.used();
    let mask = ProjectionMask::roots(builder.parquet_schema(), used.iter().copied());
    let batches = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| err(&e))?;
    collect(name, plan, opts, batches, err, 0)
}

/// A Parquet file read a record batch at a time ([`crate::TableChunks`]).
pub(crate) struct ParquetChunks {
    name: String,
    plan: Plan,
    opts: ReadOptions,
    batches: Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
    file: Option<std::fs::File>,
    /// Rows handed out so far.
    row: usize,
}

impl ParquetChunks {
    pub fn new(file: std::fs::File, name: &str, opts: &ReadOptions) -> Result<Self> {
        let err = |e: &dyn std::fmt::Display| parquet_error(name, e);
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file.try_clone().map_err(|e| err(&e))?)
                .map_err(|e| err(&e))?;
        let plan = checked_plan(name, builder.schema(), opts)?;
        Ok(ParquetChunks {
            name: name.to_string(),
            plan,
            opts: opts.clone(),
            batches: None,
            file: Some(file),
            row: 0,
        })
    }

    /// The next batch of at most `max_rows` rows (the first call fixes the size).
    pub fn next(&mut self, max_rows: usize) -> Result<Option<Table>> {
        let name = self.name.clone();
        let err = |e: &dyn std::fmt::Display| parquet_error(&name, e);
        if let Some(file) = self.file.take() {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(&e))?;
            let mask =
                ProjectionMask::roots(builder.parquet_schema(), self.plan.used().iter().copied());
            self.batches = Some(
                builder
                    .with_projection(mask)
                    .with_batch_size(max_rows)
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        let Some(batches) = self.batches.as_mut() else {
            return Ok(None);
        };
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batches.next()))
            .map_err(|_| err(&"the file is corrupt (the decoder failed)"))?;
        let Some(batch) = next else {
            return Ok(None);
        };
        let rows = batch.as_ref().map_or(0, |b| b.num_rows());
        let (plan, opts, first) = (self.plan.clone(), &self.opts, self.row);
        let table = guarded(
            || collect(&name, plan, opts, std::iter::once(batch), err, first),
            || err(&"the file is corrupt (the decoder failed)"),
        )?;
        self.row += rows;
        Ok(Some(table))
    }
}

/// Feeds batches holding the plan's used columns (in file order) to a [`Builder`].
pub(crate) fn collect(
    name: &str,
    plan: Plan,
    opts: &ReadOptions,
    batches: impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>>,
    err: impl Fn(&dyn std::fmt::Display) -> ReadError,
    first_row: usize,
) -> Result<Table> {
    let used = plan.used();
    let keep = plan.keep.clone();
    let numeric: Vec<usize> = plan.numeric().collect();
    let mut b = Builder::new(name, plan, true, opts.missing);
    let mut row = first_row;
    let n_cols = used.iter().max().map_or(0, |m| m + 1);
    for batch in batches {
        let batch = batch.map_err(|e| err(&e))?;
        // The batch's columns are the used ones, in file order.
        let mut nums: Vec<Option<Vec<Option<f64>>>> = vec![None; n_cols];
        let mut txts: Vec<Option<Vec<String>>> = vec![None; n_cols];
        for (k, &j) in used.iter().enumerate() {
            let col = batch.column(k);
            if numeric.contains(&j) {
                nums[j] = numbers(col);
            }
            if keep.contains(&j) {
                txts[j] = texts(col);
            }
        }
        for i in 0..batch.num_rows() {
            let at = row + i + 1;
            b.push(
                Place::Row(at),
                |j| match nums[j].as_ref().and_then(|c| c.get(i).copied()).flatten() {
                    None => Ok(Cell::Missing("(null)".into())),
                    Some(v) if v.is_nan() => Ok(Cell::Missing("(NaN)".into())),
                    Some(v) if v.is_finite() => Ok(Cell::Number(v)),
                    Some(v) => Err(ReadError::NonFinite {
                        file: name.to_string(),
                        row: at,
                        column: j + 1,
                        value: v,
                    }),
                },
                |j| {
                    txts[j]
                        .as_ref()
                        .and_then(|c| c.get(i).cloned())
                        .unwrap_or_default()
                },
            )?;
        }
        row += batch.num_rows();
    }
    b.finish()
}
