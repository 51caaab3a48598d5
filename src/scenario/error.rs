//! Scenario problems: each names the file, the field path, the line where it
//! can be found and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path, e.g. `tenants[2].workflows[0].rate` (empty for the whole file).
    pub path: String,
    /// 1-based line, where it could be found.
    pub line: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// A TOML syntax or type error in `source`, with its line and the field
    /// path its span falls in.
    pub fn from_toml(source: &str, err: &toml::de::Error) -> Problem {
        super::decode::problem(&super::SourceMap::parse(source), err, "")
    }
}

/// A scenario that cannot be used, with every problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, in file order where known.
    pub problems: Vec<Problem>,
}

impl ScenarioError {
    /// An error with several problems.
    pub fn new(file: &Path, problems: Vec<Problem>) -> ScenarioError {
        ScenarioError {
            file: file.to_path_buf(),
            problems,
        }
    }

    /// An error with one problem.
    pub fn single(file: &Path, problem: Problem) -> ScenarioError {
        ScenarioError::new(file, vec![problem])
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {} problem{}",
            self.file.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", self.file.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            if !p.path.is_empty() {
                write!(f, ": {}", p.path)?;
            }
            write!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}
