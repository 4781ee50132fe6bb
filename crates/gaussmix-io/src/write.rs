//! Writers for the CLI's binary outputs: NPY arrays ([`write_npy_f64`],
//! [`write_npy_i64`]) and, with the `parquet` feature, Parquet tables
//! ([`write_parquet`]).

use std::io::Write;

/// Writes an NPY v1.0 preamble and header for `descr` and `shape` (padded so that
/// the data starts at a multiple of 64 bytes).
/// Writes the header of a little-endian NPY array of `shape` and dtype `descr`
/// (`"<f8"`, `"<i8"`): the values, row-major, follow it. For writers that stream the
/// values (a block at a time) instead of holding them.
pub fn write_npy_header(w: &mut impl Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    npy_header(w, descr, shape)
}

fn npy_header(w: &mut impl Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let len = u16::try_from(h.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NPY shape too long"))?;
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(h.as_bytes())
}

fn check_shape(n: usize, shape: &[usize]) -> std::io::Result<()> {
    if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) == Some(n) {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{n} values do not fill the shape {shape:?}"),
        ))
    }
}

/// Writes `values` (row-major) as a little-endian float64 NPY array of `shape`
/// (`np.load` reads it). Errors if the shape does not hold exactly the values.
///
/// ```
/// use gaussmix_io::{parse_npy, write_npy_f64};
/// let mut out = Vec::new();
/// write_npy_f64(&mut out, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
/// assert_eq!(out.len() % 64, 48); // a 64-byte-aligned header, then 48 bytes of data
/// let t = parse_npy(&out, "out.npy").unwrap();
/// assert_eq!((t.n_rows(), t.n_cols()), (3, 2));
/// assert!(write_npy_f64(&mut out, &[1.0], &[2]).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_npy_f64(w: &mut impl Write, values: &[f64], shape: &[usize]) -> std::io::Result<()> {
    check_shape(values.len(), shape)?;
    npy_header(w, "<f8", shape)?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    w.write_all(&bytes)
}

/// Writes `values` (row-major) as a little-endian int64 NPY array of `shape` (labels,
/// counts).
///
/// ```
/// let mut out = Vec::new();
/// gaussmix_io::write_npy_i64(&mut out, &[0, 2, 1], &[3])?;
/// assert!(out.starts_with(b"\x93NUMPY\x01\x00"));
/// assert_eq!(&out[out.len() - 8..], 1i64.to_le_bytes());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_npy_i64(w: &mut impl Write, values: &[i64], shape: &[usize]) -> std::io::Result<()> {
    check_shape(values.len(), shape)?;
    npy_header(w, "<i8", shape)?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    w.write_all(&bytes)
}

/// A column for [`write_parquet`]: values, optionally with nulls (`None`).
#[cfg(feature = "parquet")]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ParquetColumn<'a> {
    /// float64 values.
    F64(&'a [f64]),
    /// int64 values.
    I64(&'a [i64]),
    /// float64 values with nulls.
    OptF64(&'a [Option<f64>]),
    /// int64 values with nulls.
    OptI64(&'a [Option<i64>]),
    /// Text (e.g. a kept id column).
    Str(&'a [String]),
}

#[cfg(feature = "parquet")]
impl ParquetColumn<'_> {
    fn len(&self) -> usize {
        match self {
            ParquetColumn::F64(v) => v.len(),
            ParquetColumn::I64(v) => v.len(),
            ParquetColumn::OptF64(v) => v.len(),
            ParquetColumn::OptI64(v) => v.len(),
            ParquetColumn::Str(v) => v.len(),
        }
    }
}

/// Writes named columns of equal length as one Parquet table (snappy-compressed;
/// pandas' `read_parquet` reads it). Errors on columns of different lengths.
///
/// ```
/// use gaussmix_io::{parse_bytes, write_parquet, ParquetColumn, ReadOptions};
/// let mut out = Vec::new();
/// write_parquet(&mut out, &[("x", ParquetColumn::F64(&[0.5, 1.5])), ("label", ParquetColumn::I64(&[1, 0]))])?;
/// let t = parse_bytes(&out, "out.parquet", &ReadOptions::default())?;
/// assert_eq!(t.columns(), ["x", "label"]);
/// assert_eq!(t.values(), [0.5, 1.0, 1.5, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "parquet")]
pub fn write_parquet<W: Write + Send>(
    w: W,
    columns: &[(&str, ParquetColumn<'_>)],
) -> std::io::Result<()> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    if let Some((_, first)) = columns.first() {
        if let Some((name, c)) = columns.iter().find(|(_, c)| c.len() != first.len()) {
            return Err(invalid(format!(
                "column {name:?} has {} values but the first column has {}",
                c.len(),
                first.len()
            )));
        }
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, c) in columns {
        let (t, nullable, a): (DataType, bool, ArrayRef) = match c {
            ParquetColumn::F64(v) => (
                DataType::Float64,
                false,
                Arc::new(Float64Array::from(v.to_vec())),
            ),
            ParquetColumn::I64(v) => (
                DataType::Int64,
                false,
                Arc::new(Int64Array::from(v.to_vec())),
            ),
            ParquetColumn::OptF64(v) => (
                DataType::Float64,
                true,
                Arc::new(Float64Array::from(v.to_vec())),
            ),
            ParquetColumn::OptI64(v) => (
                DataType::Int64,
                true,
                Arc::new(Int64Array::from(v.to_vec())),
            ),
            ParquetColumn::Str(v) => (
                DataType::Utf8,
                false,
                Arc::new(StringArray::from_iter_values(v.iter())),
            ),
        };
        fields.push(Field::new(*name, t, nullable));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| invalid(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(w, schema, Some(props)).map_err(|e| other(&e))?;
    writer.write(&batch).map_err(|e| other(&e))?;
    writer.close().map_err(|e| other(&e))?;
    Ok(())
}

/// Writes a 2-D little-endian NPY array a block of rows at a time, when the number of
/// rows is not known up front: the header reserves room for any row count and is
/// rewritten by [`finish`](Self::finish). float64 (`<f8`) or float32 (`<f4`; values
/// beyond f32's range are an error, not infinities).
///
/// ```
/// use gaussmix_io::{parse_npy, NpyRowWriter};
/// let mut w = NpyRowWriter::new(std::io::Cursor::new(Vec::new()), 2, false)?;
/// w.write_rows(&[1.0, 2.0, 3.0, 4.0])?;
/// w.write_rows(&[5.0, 6.0])?;
/// let bytes = w.finish()?.into_inner();
/// let t = parse_npy(&bytes, "out.npy").unwrap();
/// assert_eq!((t.n_rows(), t.values()), (3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0][..]));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct NpyRowWriter<W: Write + std::io::Seek> {
    w: W,
    d: usize,
    f32: bool,
    rows: usize,
}

/// The header's length (its data starts 64-byte aligned), room for any shape.
const RESERVED_HEADER: usize = 128;

fn fixed_header(descr: &str, n: usize, d: usize) -> std::io::Result<Vec<u8>> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({n}, {d}), }}");
    if h.len() + 11 > RESERVED_HEADER {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "NPY shape too long",
        ));
    }
    while h.len() + 11 < RESERVED_HEADER {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&((RESERVED_HEADER - 10) as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    Ok(out)
}

impl<W: Write + std::io::Seek> NpyRowWriter<W> {
    /// Starts an array of `d` columns (≥ 1), float32 when `f32`.
    pub fn new(mut w: W, d: usize, f32: bool) -> std::io::Result<Self> {
        if d == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "an array needs at least one column",
            ));
        }
        w.write_all(&fixed_header(if f32 { "<f4" } else { "<f8" }, 0, d)?)?;
        Ok(NpyRowWriter { w, d, f32, rows: 0 })
    }

    /// Appends whole rows (`values.len()` a multiple of `d`).
    pub fn write_rows(&mut self, values: &[f64]) -> std::io::Result<()> {
        if !values.len().is_multiple_of(self.d) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} values are not whole rows of {}", values.len(), self.d),
            ));
        }
        let mut bytes = Vec::with_capacity(values.len() * if self.f32 { 4 } else { 8 });
        for (i, &v) in values.iter().enumerate() {
            if self.f32 {
                if v.is_finite() && (v as f32).is_infinite() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "data row {}, column {}: {v:e} does not fit in float32 (largest ±3.4028235e38); write float64",
                            self.rows + i / self.d + 1,
                            i % self.d + 1
                        ),
                    ));
                }
                bytes.extend_from_slice(&(v as f32).to_le_bytes());
            } else {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.w.write_all(&bytes)?;
        self.rows += values.len() / self.d;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the header with the final row count and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        let header = fixed_header(if self.f32 { "<f4" } else { "<f8" }, self.rows, self.d)?;
        self.w.flush()?;
        self.w.seek(std::io::SeekFrom::Start(0))?;
        self.w.write_all(&header)?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Writes a Parquet file of float columns a block of rows at a time (snappy-compressed,
/// a row group per 131,072 rows: the writer holds one row group in memory): float64, or float32 (values beyond f32's range are
/// an error).
#[cfg(feature = "parquet")]
pub struct ParquetRowWriter<W: Write + Send> {
    writer: parquet::arrow::ArrowWriter<W>,
    schema: std::sync::Arc<arrow_schema::Schema>,
    f32: bool,
    rows: usize,
}

#[cfg(feature = "parquet")]
impl<W: Write + Send> ParquetRowWriter<W> {
    /// Starts a file with these column names (at least one).
    pub fn new(w: W, names: &[String], f32: bool) -> std::io::Result<Self> {
        use arrow_schema::{DataType, Field, Schema};
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        if names.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a table needs at least one column",
            ));
        }
        let t = if f32 {
            DataType::Float32
        } else {
            DataType::Float64
        };
        let schema = std::sync::Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(n, t.clone(), false))
                .collect::<Vec<_>>(),
        ));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(1 << 17))
            .build();
        let writer = parquet::arrow::ArrowWriter::try_new(w, schema.clone(), Some(props))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(ParquetRowWriter {
            writer,
            schema,
            f32,
            rows: 0,
        })
    }

    /// Appends whole rows (row-major, one value per column).
    pub fn write_rows(&mut self, values: &[f64]) -> std::io::Result<()> {
        use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch};
        let d = self.schema.fields().len();
        if !values.len().is_multiple_of(d) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} values are not whole rows of {d}", values.len()),
            ));
        }
        let n = values.len() / d;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(d);
        for j in 0..d {
            let col = values.iter().skip(j).step_by(d).copied();
            if self.f32 {
                if let Some((i, v)) = col
                    .clone()
                    .enumerate()
                    .find(|(_, v)| v.is_finite() && (*v as f32).is_infinite())
                {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "data row {}, column {} ({}): {v:e} does not fit in float32 (largest ±3.4028235e38); write float64",
                            self.rows + i + 1,
                            j + 1,
                            self.schema.field(j).name()
                        ),
                    ));
                }
                columns.push(std::sync::Arc::new(Float32Array::from_iter_values(
                    col.map(|v| v as f32),
                )));
            } else {
                columns.push(std::sync::Arc::new(Float64Array::from_iter_values(col)));
            }
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.writer
            .write(&batch)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.rows += n;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the footer.
    pub fn finish(self) -> std::io::Result<()> {
        self.writer
            .close()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::NpyReader;

    #[test]
    fn npy_round_trips() {
        let values: Vec<f64> = (0..12).map(|i| i as f64 * 0.25 - 1.0).collect();
        let mut out = Vec::new();
        write_npy_f64(&mut out, &values, &[4, 3]).unwrap();
        assert_eq!((out.len() - 96) % 64, 0, "header padded to 64 bytes");
        let r = NpyReader::new(std::io::Cursor::new(&out), "t").unwrap();
        assert_eq!(r.shape(), (4, 3));
        assert_eq!(r.read_table().unwrap().values(), &values[..]);
        let mut out = Vec::new();
        write_npy_i64(&mut out, &[3, -1], &[2]).unwrap();
        let start = out.len() - 16;
        assert_eq!(start % 64, 0);
        let h = String::from_utf8_lossy(&out[10..start]).to_string();
        assert_eq!(
            h.trim_end(),
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"
        );
        assert_eq!(
            &out[start..],
            [3i64.to_le_bytes(), (-1i64).to_le_bytes()].concat()
        );
        assert!(write_npy_i64(&mut Vec::new(), &[1, 2, 3], &[2, 2]).is_err());
    }
}
