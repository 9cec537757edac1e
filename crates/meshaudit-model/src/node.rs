//! A YAML/JSON document as a tree whose every node and key remembers its line and column.
//!
//! Rules point at fields, so positions must survive past parsing; serde's data model drops them,
//! which is why documents are kept as this tree and typed views are deserialized from it.

use std::fmt;

/// Keys and string scalars: most are shorter than 25 bytes and then live inline, without an
/// allocation of their own — documents hold millions of them.
pub use compact_str::CompactString as NodeStr;

/// One node of a document, with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(NodeStr),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry: the key keeps its own position, which is where a reader's eye goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: NodeStr,
    pub key_line: u32,
    pub key_column: u32,
    pub value: Node,
}

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(key: &'a str) -> Self {
        Step::Key(key)
    }
}

impl From<usize> for Step<'_> {
    fn from(index: usize) -> Self {
        Step::Index(index)
    }
}

impl Node {
    pub fn new(value: Value, line: u32, column: u32) -> Self {
        Node {
            value,
            line,
            column,
        }
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn index(&self, index: usize) -> Option<&Node> {
        match &self.value {
            Value::Seq(items) => items.get(index),
            _ => None,
        }
    }

    /// Follows a path of keys and indexes.
    pub fn at(&self, path: &[Step<'_>]) -> Option<&Node> {
        let mut node = self;
        for step in path {
            node = match step {
                Step::Key(k) => node.get(k)?,
                Step::Index(i) => node.index(*i)?,
            };
        }
        Some(node)
    }

    /// Line and column a finding about `path` should point at: the key of the last mapping step
    /// (that is where the field is written), or the item itself for a sequence index.
    pub fn position_of(&self, path: &[Step<'_>]) -> Option<(u32, u32)> {
        let (last, parent_path) = path.split_last()?;
        let parent = self.at(parent_path)?;
        match last {
            Step::Key(k) => parent.entry(k).map(|e| (e.key_line, e.key_column)),
            Step::Index(i) => parent.index(*i).map(|n| (n.line, n.column)),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of node this is, in words for error messages.
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// A scalar rendered as text (numbers and booleans included), as Kubernetes would read a
    /// string field written without quotes.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A dotted path for messages, e.g. `spec.rules[0].from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<PathPart>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPart {
    Key(String),
    Index(usize),
}

impl FieldPath {
    pub fn push_front_key(&mut self, key: &str) {
        self.0.insert(0, PathPart::Key(key.to_owned()));
    }

    pub fn push_front_index(&mut self, index: usize) {
        self.0.insert(0, PathPart::Index(index));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            match part {
                PathPart::Key(k) if i == 0 => write!(f, "{k}")?,
                PathPart::Key(k) => write!(f, ".{k}")?,
                PathPart::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// `spec.rules[0]`: a field path as people write it.
pub fn render_path(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: Value, line: u32) -> Node {
        Node::new(value, line, 1)
    }

    #[test]
    fn position_of_points_at_keys_and_items() {
        let doc = n(
            Value::Map(vec![Entry {
                key: "spec".into(),
                key_line: 3,
                key_column: 1,
                value: n(
                    Value::Map(vec![Entry {
                        key: "rules".into(),
                        key_line: 4,
                        key_column: 3,
                        value: n(Value::Seq(vec![n(Value::Null, 5), n(Value::Null, 6)]), 5),
                    }]),
                    4,
                ),
            }]),
            1,
        );
        assert_eq!(
            doc.position_of(&["spec".into(), "rules".into()]),
            Some((4, 3))
        );
        assert_eq!(
            doc.position_of(&["spec".into(), "rules".into(), 1.into()]),
            Some((6, 1))
        );
        assert_eq!(doc.position_of(&["spec".into(), "nope".into()]), None);
    }

    #[test]
    fn field_path_renders_like_kubectl_explain() {
        let mut p = FieldPath::default();
        p.push_front_key("from");
        p.push_front_index(0);
        p.push_front_key("rules");
        p.push_front_key("spec");
        assert_eq!(p.to_string(), "spec.rules[0].from");
    }
}
