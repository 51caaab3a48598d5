//! Typed output tables: a file's columns are declared once, as a name and a
//! function of the row, and written both as CSV and as Parquet from those
//! same values. A column added to a declaration appears in every format.
//!
//! **Architecture Invariant:** the Parquet bytes are a function of the
//! values only: one compression (zstd at its default level), statistics
//! computed from the data, polars' constant `created_by` and no time stamp,
//! columns serialized on the calling thread. Same values, same bytes.

use std::path::{Path, PathBuf};

use polars::prelude::{
    BatchedWriter, Column as FrameColumn, DataFrame, ParquetCompression, ParquetWriter, PlSmallStr, PolarsError,
    StatisticsOptions,
};

/// The typed values of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cells {
    /// Unsigned integers (Parquet `UINT64`).
    Count(Vec<u64>),
    /// Text (Parquet `STRING`).
    Text(Vec<String>),
    /// Nullable floats (Parquet `DOUBLE`); CSV shows 6 decimals, or an empty
    /// cell for no value.
    Real(Vec<Option<f64>>),
    /// Booleans; CSV shows `true` / `false`.
    Flag(Vec<bool>),
}

impl Cells {
    /// The CSV text of row `i`.
    fn text(&self, i: usize) -> String {
        match self {
            Cells::Count(v) => v[i].to_string(),
            Cells::Text(v) => v[i].clone(),
            Cells::Real(v) => v[i].map(|x| format!("{x:.6}")).unwrap_or_default(),
            Cells::Flag(v) => v[i].to_string(),
        }
    }

    fn to_frame_column(&self, name: &'static str) -> FrameColumn {
        let name = PlSmallStr::from_static(name);
        match self {
            Cells::Count(v) => FrameColumn::new(name, v.as_slice()),
            Cells::Text(v) => FrameColumn::new(name, v.as_slice()),
            Cells::Real(v) => FrameColumn::new(name, v.as_slice()),
            Cells::Flag(v) => FrameColumn::new(name, v.as_slice()),
        }
    }
}

/// A named column.
#[derive(Clone, Debug, PartialEq)]
pub struct TableColumn {
    /// The header, identical in every format.
    pub name: &'static str,
    /// The values, one per row.
    pub cells: Cells,
}

/// The columns of one output table, all of the same length: each is built
/// by applying its function to every row of the same slice.
pub struct Table<'r, R> {
    rows: &'r [R],
    columns: Vec<TableColumn>,
}

/// Writing a table failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV record could not be written.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// The Parquet encoder refused the table.
    #[error("cannot write {path} as Parquet: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PolarsError,
    },
}

impl<'r, R> Table<'r, R> {
    /// A table over `rows`, with no column yet.
    pub fn new(rows: &'r [R]) -> Self {
        Table {
            rows,
            columns: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, cells: Cells) -> Self {
        self.columns.push(TableColumn { name, cells });
        self
    }

    /// Adds an unsigned integer column.
    pub fn count(self, name: &'static str, f: impl Fn(&R) -> u64) -> Self {
        let cells = Cells::Count(self.rows.iter().map(f).collect());
        self.with(name, cells)
    }

    /// Adds a text column.
    pub fn text(self, name: &'static str, f: impl Fn(&R) -> String) -> Self {
        let cells = Cells::Text(self.rows.iter().map(f).collect());
        self.with(name, cells)
    }

    /// Adds a nullable float column.
    pub fn real(self, name: &'static str, f: impl Fn(&R) -> Option<f64>) -> Self {
        let cells = Cells::Real(self.rows.iter().map(f).collect());
        self.with(name, cells)
    }

    /// Adds a boolean column.
    pub fn flag(self, name: &'static str, f: impl Fn(&R) -> bool) -> Self {
        let cells = Cells::Flag(self.rows.iter().map(f).collect());
        self.with(name, cells)
    }

    /// The table as a data frame: one chunk per column.
    fn frame(&self) -> Result<DataFrame, PolarsError> {
        let columns = self.columns.iter().map(|c| c.cells.to_frame_column(c.name)).collect();
        DataFrame::new(self.rows.len(), columns)
    }
}

/// The one Parquet configuration of every output table.
fn parquet_writer<W: std::io::Write>(sink: W) -> ParquetWriter<W> {
    ParquetWriter::new(sink)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
        .set_parallel(false)
}

/// A table written in parts as its rows stream in: the CSV header once, then
/// each part's records; each part one Parquet row group. The bytes are a
/// function of the parts, so a caller that cuts the rows into parts of a
/// fixed size gets the same files however the rows arrived.
pub struct TableWriter {
    csv_path: PathBuf,
    csv: csv::Writer<std::fs::File>,
    parquet_path: PathBuf,
    parquet: BatchedWriter<SharedFile>,
    /// The Parquet file, to flush (and see its errors) after the footer.
    parquet_file: SharedFile,
}

/// A buffered file the Parquet writer writes through while the table
/// writer keeps a handle to flush it.
#[derive(Clone)]
struct SharedFile(std::sync::Arc<std::sync::Mutex<std::io::BufWriter<std::fs::File>>>);

impl SharedFile {
    fn file(&self) -> std::io::Result<std::sync::MutexGuard<'_, std::io::BufWriter<std::fs::File>>> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("a writer of this file panicked"))
    }
}

impl std::io::Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file()?.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file()?.flush()
    }
}

impl TableWriter {
    /// Creates `csv_path` and `parquet_path` for the columns of `empty` (a
    /// declaration applied to no rows: its names and types).
    pub fn create<R>(csv_path: &Path, parquet_path: &Path, empty: &Table<'_, R>) -> Result<TableWriter, TableError> {
        let csv_err = |source| TableError::Csv {
            path: csv_path.to_path_buf(),
            source,
        };
        let mut csv = csv::Writer::from_path(csv_path).map_err(csv_err)?;
        csv.write_record(empty.columns.iter().map(|c| c.name))
            .map_err(csv_err)?;
        let pq_err = |source| TableError::Parquet {
            path: parquet_path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(parquet_path).map_err(|source| TableError::Io {
            path: parquet_path.to_path_buf(),
            source,
        })?;
        let schema = empty.frame().map_err(pq_err)?.schema().as_ref().clone();
        let parquet_file = SharedFile(std::sync::Arc::new(std::sync::Mutex::new(std::io::BufWriter::new(
            file,
        ))));
        let parquet = parquet_writer(parquet_file.clone()).batched(&schema).map_err(pq_err)?;
        Ok(TableWriter {
            csv_path: csv_path.to_path_buf(),
            csv,
            parquet_path: parquet_path.to_path_buf(),
            parquet,
            parquet_file,
        })
    }

    /// Appends the rows of `part` (declared as for [`TableWriter::create`]):
    /// CSV records, and one Parquet row group if it has rows.
    pub fn write<R>(&mut self, part: &Table<'_, R>) -> Result<(), TableError> {
        for i in 0..part.rows.len() {
            self.csv
                .write_record(part.columns.iter().map(|c| c.cells.text(i)))
                .map_err(|source| TableError::Csv {
                    path: self.csv_path.clone(),
                    source,
                })?;
        }
        if !part.rows.is_empty() {
            let pq_err = |source| TableError::Parquet {
                path: self.parquet_path.clone(),
                source,
            };
            let frame = part.frame().map_err(pq_err)?;
            self.parquet.write_batch(&frame).map_err(pq_err)?;
        }
        Ok(())
    }

    /// Flushes the CSV and writes the Parquet footer.
    pub fn finish(mut self) -> Result<(), TableError> {
        self.csv.flush().map_err(|source| TableError::Io {
            path: self.csv_path.clone(),
            source,
        })?;
        self.parquet.finish().map_err(|source| TableError::Parquet {
            path: self.parquet_path.clone(),
            source,
        })?;
        std::io::Write::flush(&mut self.parquet_file).map_err(|source| TableError::Io {
            path: self.parquet_path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::{DataType, ParquetReader, SerReader};

    use super::*;

    struct Row {
        n: u64,
        name: &'static str,
        x: Option<f64>,
        ok: bool,
    }

    const ROWS: [Row; 3] = [
        Row {
            n: 0,
            name: "a",
            x: Some(1.0 / 3.0),
            ok: true,
        },
        Row {
            n: 7,
            name: "b, with a comma",
            x: None,
            ok: false,
        },
        Row {
            n: u64::MAX,
            name: "",
            x: Some(-2.5),
            ok: true,
        },
    ];

    fn table(rows: &[Row]) -> Table<'_, Row> {
        Table::new(rows)
            .count("n", |r| r.n)
            .text("name", |r| r.name.to_string())
            .real("x", |r| r.x)
            .flag("ok", |r| r.ok)
    }

    /// Writes `rows` cut into parts of `part` rows; returns the CSV text and
    /// the Parquet bytes.
    fn write(rows: &[Row], part: usize) -> (String, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let (csv, pq) = (dir.path().join("t.csv"), dir.path().join("t.parquet"));
        let mut w = TableWriter::create(&csv, &pq, &table(&[])).unwrap();
        for chunk in rows.chunks(part.max(1)) {
            w.write(&table(chunk)).unwrap();
        }
        w.finish().unwrap();
        (std::fs::read_to_string(csv).unwrap(), std::fs::read(pq).unwrap())
    }

    #[test]
    fn csv_and_parquet_hold_the_same_typed_values() {
        // Written in parts of two rows: one table all the same.
        let (csv, parquet) = write(&ROWS, 2);
        assert_eq!(
            csv,
            "n,name,x,ok\n0,a,0.333333,true\n7,\"b, with a comma\",,false\n18446744073709551615,,-2.500000,true\n"
        );
        let frame = ParquetReader::new(std::io::Cursor::new(parquet)).finish().unwrap();
        let dtypes: Vec<(String, DataType)> = frame
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.dtype().clone()))
            .collect();
        assert_eq!(
            dtypes,
            [
                ("n".to_string(), DataType::UInt64),
                ("name".to_string(), DataType::String),
                ("x".to_string(), DataType::Float64),
                ("ok".to_string(), DataType::Boolean),
            ]
        );
        let rows = 0..frame.height();
        let n = frame.column("n").unwrap().u64().unwrap();
        let n: Vec<Option<u64>> = rows.clone().map(|i| n.get(i)).collect();
        assert_eq!(n, [Some(0), Some(7), Some(u64::MAX)]);
        let name = frame.column("name").unwrap().str().unwrap();
        let name: Vec<Option<&str>> = rows.clone().map(|i| name.get(i)).collect();
        assert_eq!(name, [Some("a"), Some("b, with a comma"), Some("")]);
        // Full precision in Parquet; the CSV shows 6 decimals of the same value.
        let x = frame.column("x").unwrap().f64().unwrap();
        let x: Vec<Option<f64>> = rows.clone().map(|i| x.get(i)).collect();
        assert_eq!(x, [Some(1.0 / 3.0), None, Some(-2.5)]);
        let ok = frame.column("ok").unwrap().bool().unwrap();
        let ok: Vec<Option<bool>> = rows.map(|i| ok.get(i)).collect();
        assert_eq!(ok, [Some(true), Some(false), Some(true)]);
    }

    #[test]
    fn parquet_bytes_depend_only_on_the_values_and_the_cut() {
        let a = write(&ROWS, 3).1;
        assert_eq!(a, write(&ROWS, 3).1);
        let other = [Row {
            n: 1,
            name: "a",
            x: None,
            ok: true,
        }];
        assert_ne!(a, write(&other, 3).1);
        // Another cut is another set of row groups: callers cut at a fixed size.
        assert_ne!(a, write(&ROWS, 1).1);
    }

    #[test]
    fn an_empty_table_is_a_valid_parquet_file() {
        let (csv, parquet) = write(&[], 3);
        assert_eq!(csv, "n,name,x,ok\n");
        let frame = ParquetReader::new(std::io::Cursor::new(parquet)).finish().unwrap();
        assert_eq!(frame.height(), 0);
        assert_eq!(frame.width(), 4);
    }
}
