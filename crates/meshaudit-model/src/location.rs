use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A place in the user's input: the path as the user gave it (`<stdin>` for standard input),
/// with a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl Location {
    pub fn new(path: Arc<str>, line: u32, column: u32) -> Self {
        Location { path, line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// Input that could not be read or understood. `line` is 0 when the problem concerns the whole
/// input (a missing path, a binary file) rather than a place in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InputError {
    pub path: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl InputError {
    pub fn new(path: Arc<str>, line: u32, column: u32, message: impl Into<String>) -> Self {
        InputError {
            path,
            line,
            column,
            message: message.into(),
        }
    }

    pub fn whole_input(path: Arc<str>, message: impl Into<String>) -> Self {
        InputError::new(path, 0, 0, message)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}
