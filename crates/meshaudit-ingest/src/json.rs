//! JSON into the same positioned [`Node`] trees as [`crate::yaml`], through a JSON tokenizer
//! (jsonc-parser's `Scanner`, strict options) instead of the YAML parser: several times faster on
//! `kubectl get -o json` dumps (docs/performance.md compares the libraries measured).
//!
//! Lines and columns are 1-based, columns counted in characters, as for YAML. Scalars are typed
//! as the YAML path types them (numbers through the same resolver, strings stay strings), keys
//! repeated in one object are errors, and the fields no rule reads (`status` and
//! `metadata.managedFields` of an object) are skipped without building nodes.
//!
//! A `*List` is not parsed as one document: [`split_list`] finds its items with a string-aware
//! bracket scan, so that each item is parsed (in parallel) and budgeted on its own.

use std::collections::HashSet;
use std::ops::Range;

use jsonc_parser::tokens::Token;
use jsonc_parser::{Scanner, ScannerOptions};
use meshaudit_model::{Entry, Node, NodeStr, Value};

use crate::yaml::{
    resolve_plain, skipped_field, MapKind, MapParent, YamlError, MAX_DEPTH, MAX_NODES_PER_DOCUMENT,
};

/// Strict JSON: no single quotes, hexadecimal, `+1`, `.5`, `NaN` or extended escapes.
const STRICT: ScannerOptions = ScannerOptions {
    allow_single_quoted_strings: false,
    allow_hexadecimal_numbers: false,
    allow_unary_plus_numbers: false,
    allow_bare_decimal_point_numbers: false,
    allow_non_finite_numbers: false,
    allow_extended_string_escapes: false,
};

/// Whether a text is read as JSON: its first character that is not blank opens an object or an
/// array. A YAML file can start with `{` too (a flow mapping); the caller falls back to the YAML
/// parser when such a text is not valid JSON.
pub fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

/// A line and a character column (both 1-based) at a byte offset of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: usize,
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub const START: Position = Position {
        offset: 0,
        line: 1,
        column: 1,
    };
}

/// Moves forward through the text turning byte offsets into lines and columns, so every
/// position costs only the bytes since the previous one.
struct Cursor<'t> {
    bytes: &'t [u8],
    at: Position,
}

impl Cursor<'_> {
    fn to(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.bytes.len());
        if offset < self.at.offset {
            return (self.at.line, self.at.column);
        }
        let (mut line, mut column) = (self.at.line, self.at.column);
        for &b in &self.bytes[self.at.offset..offset] {
            if b == b'\n' {
                line += 1;
                column = 1;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: one more character.
                column += 1;
            }
        }
        self.at = Position {
            offset,
            line,
            column,
        };
        (line, column)
    }
}

/// What the value being parsed is, for the fields that are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A whole document: its root object is a Kubernetes object, and so is every item of a root
    /// `items` array.
    Document,
    /// One item of a List: a Kubernetes object.
    Item,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// After `{` or `[`: a key (or value) or the end.
    FirstOrEnd,
    /// After a comma: a key or a value.
    Next,
    Colon,
    Value,
    CommaOrEnd,
}

enum Frame {
    Array {
        items: Vec<Node>,
        line: u32,
        column: u32,
        objects: bool,
        expect: Expect,
    },
    Object {
        entries: Vec<Entry>,
        seen: Option<HashSet<NodeStr>>,
        pending: Option<(NodeStr, u32, u32)>,
        line: u32,
        column: u32,
        kind: MapKind,
        expect: Expect,
    },
}

/// The hole left for a List's items when its envelope is parsed: at `range.start` the parser
/// sees an empty array and goes on at `range.end`, whose line and column are `end`.
#[derive(Debug, Clone)]
pub struct Hole {
    pub range: Range<usize>,
    pub end: Position,
}

struct Parser<'t> {
    text: &'t str,
    end: usize,
    cursor: Cursor<'t>,
    scanner: Scanner<'t>,
    /// Offset of the scanner's text in `text`.
    base: usize,
    stack: Vec<Frame>,
    role: Role,
    nodes: usize,
    hole: Option<Hole>,
}

fn err(line: u32, column: u32, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        column,
        message: message.into(),
    }
}

/// Parses the JSON values of `text[range]` (one, or several one after the other), whose first
/// byte is at `start` (its line and column in the whole text).
pub fn parse_values(
    text: &str,
    range: Range<usize>,
    start: Position,
    role: Role,
    hole: Option<Hole>,
) -> Result<Vec<Node>, YamlError> {
    let mut values = Vec::new();
    let mut at = range.start;
    let mut position = start;
    let mut hole = hole;
    loop {
        let rest = &text.as_bytes()[at..range.end];
        let Some(skip) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            break;
        };
        let _ = skip;
        let mut p = Parser::new(text, at..range.end, position, role, hole.take());
        let (node, end) = p.value()?;
        values.push(node);
        let (line, column) = p.cursor.to(end);
        position = Position {
            offset: end,
            line,
            column,
        };
        at = end;
    }
    if values.is_empty() {
        return Err(err(start.line, start.column, "invalid JSON: no value"));
    }
    Ok(values)
}

impl<'t> Parser<'t> {
    fn new(
        text: &'t str,
        range: Range<usize>,
        start: Position,
        role: Role,
        hole: Option<Hole>,
    ) -> Self {
        Parser {
            text,
            end: range.end,
            cursor: Cursor {
                bytes: text.as_bytes(),
                at: start,
            },
            scanner: Scanner::new(&text[range.clone()], &STRICT),
            base: range.start,
            stack: Vec::new(),
            role,
            nodes: 0,
            hole,
        }
    }

    /// Restarts the scanner at `offset` (after a skipped value or the hole).
    fn restart(&mut self, offset: usize) {
        self.scanner = Scanner::new(&self.text[offset..self.end], &STRICT);
        self.base = offset;
    }

    fn error_at(&mut self, offset: usize, message: impl Into<String>) -> YamlError {
        let (line, column) = self.cursor.to(offset);
        err(line, column, message)
    }

    /// Parses one value; returns it and the offset just after it.
    fn value(&mut self) -> Result<(Node, usize), YamlError> {
        loop {
            let token = match self.scanner.scan() {
                Ok(t) => t,
                Err(e) => {
                    let at = self.base + e.range().start;
                    return Err(self.error_at(at, format!("invalid JSON: {}", e.kind())));
                }
            };
            let start = self.base + self.scanner.token_start();
            let end = self.base + self.scanner.token_end();
            let Some(token) = token else {
                return Err(self.error_at(end, "invalid JSON: unexpected end of input"));
            };
            match token {
                Token::OpenBrace | Token::OpenBracket => {
                    self.expect_value(start)?;
                    if let (Token::OpenBracket, Some(hole)) = (&token, &self.hole) {
                        if hole.range.start == start {
                            // The List's items, parsed elsewhere: an empty array here.
                            let hole = self.hole.take().expect("checked above");
                            let (line, column) = self.cursor.to(start);
                            self.cursor.at = hole.end;
                            self.restart(hole.range.end);
                            if let Some(done) = self.attach(
                                Node::new(Value::Seq(Vec::new()), line, column),
                                hole.range.end,
                            )? {
                                return Ok(done);
                            }
                            continue;
                        }
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(self.error_at(
                            start,
                            format!("document is nested deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    let (line, column) = self.cursor.to(start);
                    let frame = if token == Token::OpenBrace {
                        Frame::Object {
                            entries: Vec::new(),
                            seen: None,
                            pending: None,
                            line,
                            column,
                            kind: self.child_map_kind(),
                            expect: Expect::FirstOrEnd,
                        }
                    } else {
                        Frame::Array {
                            items: Vec::new(),
                            line,
                            column,
                            objects: self.child_array_holds_objects(),
                            expect: Expect::FirstOrEnd,
                        }
                    };
                    self.stack.push(frame);
                }
                Token::CloseBrace | Token::CloseBracket => {
                    let node = match (self.stack.pop(), &token) {
                        (
                            Some(Frame::Object {
                                mut entries,
                                line,
                                column,
                                expect: Expect::FirstOrEnd | Expect::CommaOrEnd,
                                ..
                            }),
                            Token::CloseBrace,
                        ) => {
                            entries.shrink_to_fit();
                            Node::new(Value::Map(entries), line, column)
                        }
                        (
                            Some(Frame::Array {
                                mut items,
                                line,
                                column,
                                expect: Expect::FirstOrEnd | Expect::CommaOrEnd,
                                ..
                            }),
                            Token::CloseBracket,
                        ) => {
                            items.shrink_to_fit();
                            Node::new(Value::Seq(items), line, column)
                        }
                        _ => {
                            let c = if token == Token::CloseBrace { '}' } else { ']' };
                            return Err(
                                self.error_at(start, format!("invalid JSON: unexpected `{c}`"))
                            );
                        }
                    };
                    if let Some(done) = self.attach(node, end)? {
                        return Ok(done);
                    }
                }
                Token::Comma => match self.stack.last_mut() {
                    Some(Frame::Object { expect, .. } | Frame::Array { expect, .. })
                        if *expect == Expect::CommaOrEnd =>
                    {
                        *expect = Expect::Next
                    }
                    _ => return Err(self.error_at(start, "invalid JSON: unexpected `,`")),
                },
                Token::Colon => match self.stack.last_mut() {
                    Some(Frame::Object { expect, .. }) if *expect == Expect::Colon => {
                        *expect = Expect::Value;
                        if self.skips_pending_value() {
                            self.skip_value(end)?;
                        }
                    }
                    _ => return Err(self.error_at(start, "invalid JSON: unexpected `:`")),
                },
                Token::String(s) => {
                    let is_key = matches!(
                        self.stack.last(),
                        Some(Frame::Object {
                            expect: Expect::FirstOrEnd | Expect::Next,
                            ..
                        })
                    );
                    let (line, column) = self.cursor.to(start);
                    if is_key {
                        self.key(NodeStr::from(s.as_ref()), line, column)?;
                    } else {
                        self.expect_value(start)?;
                        let node =
                            Node::new(Value::String(NodeStr::from(s.as_ref())), line, column);
                        if let Some(done) = self.attach(node, end)? {
                            return Ok(done);
                        }
                    }
                }
                Token::Number(n) => {
                    if let Some(done) = self.scalar(resolve_plain(n), start, end)? {
                        return Ok(done);
                    }
                }
                Token::Boolean(b) => {
                    if let Some(done) = self.scalar(Value::Bool(b), start, end)? {
                        return Ok(done);
                    }
                }
                Token::Null => {
                    if let Some(done) = self.scalar(Value::Null, start, end)? {
                        return Ok(done);
                    }
                }
                Token::Word(w) => {
                    return Err(self.error_at(start, format!("invalid JSON: unexpected `{w}`")))
                }
                Token::CommentLine(_) | Token::CommentBlock(_) => {
                    return Err(self.error_at(start, "invalid JSON: comments are not JSON"))
                }
            }
        }
    }

    fn scalar(
        &mut self,
        value: Value,
        start: usize,
        end: usize,
    ) -> Result<Option<(Node, usize)>, YamlError> {
        self.expect_value(start)?;
        let (line, column) = self.cursor.to(start);
        self.attach(Node::new(value, line, column), end)
    }

    /// Fails unless the innermost collection waits for a value here.
    fn expect_value(&mut self, start: usize) -> Result<(), YamlError> {
        let ok = match self.stack.last() {
            None => true,
            Some(Frame::Object { expect, .. }) => *expect == Expect::Value,
            Some(Frame::Array { expect, .. }) => {
                matches!(expect, Expect::FirstOrEnd | Expect::Next)
            }
        };
        if ok {
            Ok(())
        } else {
            let what = match self.stack.last() {
                Some(Frame::Object {
                    expect: Expect::FirstOrEnd | Expect::Next,
                    ..
                }) => "a key (a string)",
                Some(Frame::Object {
                    expect: Expect::Colon,
                    ..
                }) => "`:`",
                _ => "`,` or the end of the collection",
            };
            Err(self.error_at(start, format!("invalid JSON: expected {what}")))
        }
    }

    fn key(&mut self, key: NodeStr, line: u32, column: u32) -> Result<(), YamlError> {
        if let Some(Frame::Object {
            entries,
            seen,
            pending,
            expect,
            ..
        }) = self.stack.last_mut()
        {
            let duplicate = match seen {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let dup = entries.iter().any(|e| e.key == key);
                    if entries.len() >= 16 {
                        let mut set: HashSet<NodeStr> =
                            entries.iter().map(|e| e.key.clone()).collect();
                        set.insert(key.clone());
                        *seen = Some(set);
                    }
                    dup
                }
            };
            if duplicate {
                return Err(err(
                    line,
                    column,
                    format!("duplicate key `{key}` in the same mapping"),
                ));
            }
            *pending = Some((key, line, column));
            *expect = Expect::Colon;
        }
        Ok(())
    }

    /// Kind of a mapping that starts now, from where it sits.
    fn child_map_kind(&self) -> MapKind {
        MapKind::of_child(match self.stack.last() {
            None => MapParent::Root,
            Some(Frame::Array { objects, .. }) => MapParent::Sequence { objects: *objects },
            Some(Frame::Object { kind, pending, .. }) => MapParent::Mapping {
                kind: *kind,
                key: pending.as_ref().map(|(key, ..)| &**key),
            },
        })
    }

    /// Whether an array that starts now holds objects: the `items` of a document's root.
    fn child_array_holds_objects(&self) -> bool {
        self.role == Role::Document
            && self.stack.len() == 1
            && matches!(
                self.stack.last(),
                Some(Frame::Object { kind: MapKind::Object, pending: Some((key, ..)), .. })
                    if key == "items"
            )
    }

    fn skips_pending_value(&self) -> bool {
        match self.stack.last() {
            Some(Frame::Object {
                kind,
                pending: Some((key, ..)),
                ..
            }) => skipped_field(*kind == MapKind::Object, *kind == MapKind::Metadata, key),
            _ => false,
        }
    }

    /// Skips the value after `from` with a bracket scan, building nothing, and drops its key.
    fn skip_value(&mut self, from: usize) -> Result<(), YamlError> {
        match skip_raw(self.text.as_bytes(), from, self.end) {
            Ok(end) => {
                if let Some(Frame::Object {
                    pending, expect, ..
                }) = self.stack.last_mut()
                {
                    *pending = None;
                    *expect = Expect::CommaOrEnd;
                }
                self.restart(end);
                Ok(())
            }
            Err((at, message)) => Err(self.error_at(at, format!("invalid JSON: {message}"))),
        }
    }

    /// Puts a finished value into its collection; `Some` when it was the root.
    fn attach(&mut self, node: Node, end: usize) -> Result<Option<(Node, usize)>, YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES_PER_DOCUMENT {
            return Err(err(
                node.line,
                node.column,
                format!("document has more than {MAX_NODES_PER_DOCUMENT} nodes"),
            ));
        }
        match self.stack.last_mut() {
            None => Ok(Some((node, end))),
            Some(Frame::Array {
                items,
                objects,
                expect,
                ..
            }) => {
                items.push(node);
                *expect = Expect::CommaOrEnd;
                if *objects {
                    // The budget is per object: a List of many small items is not one big one.
                    self.nodes = 0;
                }
                Ok(None)
            }
            Some(Frame::Object {
                entries,
                pending,
                expect,
                ..
            }) => {
                let (key, key_line, key_column) = pending.take().expect("a value follows a key");
                entries.push(Entry {
                    key,
                    key_line,
                    key_column,
                    value: node,
                });
                *expect = Expect::CommaOrEnd;
                Ok(None)
            }
        }
    }
}

/// End of the JSON value starting at or after `from` (after blanks), found by a string-aware
/// scan of brackets only: nothing inside it is checked or built.
fn skip_raw(bytes: &[u8], from: usize, end: usize) -> Result<usize, (usize, &'static str)> {
    let mut i = from;
    while i < end && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    match bytes.get(i).filter(|_| i < end) {
        None => Err((i, "unexpected end of input")),
        Some(b'"') => string_end(bytes, i, end).ok_or((i, "unterminated string")),
        Some(b'{' | b'[') => {
            let start = i;
            let mut depth = 0usize;
            while i < end {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i, end).ok_or((i, "unterminated string"))?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err((start, "unclosed collection"))
        }
        Some(_) => {
            while i < end
                && !matches!(bytes[i], b',' | b'}' | b']')
                && !bytes[i].is_ascii_whitespace()
            {
                i += 1;
            }
            Ok(i)
        }
    }
}

/// Offset just after the string whose opening quote is at `at`.
fn string_end(bytes: &[u8], at: usize, end: usize) -> Option<usize> {
    let mut i = at + 1;
    while i < end {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// A List found in a JSON text: where each item is, and the items array as a [`Hole`] for
/// parsing the rest (the envelope).
#[derive(Debug)]
pub struct ListSplit {
    pub items: Vec<(Range<usize>, Position)>,
    pub hole: Hole,
}

/// Finds the items of a JSON text that is one object with an `items` array, with one
/// string-aware pass over the bytes. `None` when the text is anything else (the caller parses it
/// whole); whether the object is a `*List` is for the caller to check on the envelope.
pub fn split_list(text: &str) -> Option<ListSplit> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut w = Cursor {
        bytes,
        at: Position::START,
    };
    let skip_blanks = |w: &mut Cursor<'_>| {
        let mut j = w.at.offset;
        while j < n && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        w.to(j);
    };
    let at = |w: &Cursor<'_>| bytes.get(w.at.offset).copied();
    let step = |w: &mut Cursor<'_>| {
        w.to(w.at.offset + 1);
    };
    skip_blanks(&mut w);
    if at(&w) != Some(b'{') {
        return None;
    }
    step(&mut w);
    // The root object's members, up to `"items": [`.
    loop {
        skip_blanks(&mut w);
        if at(&w) != Some(b'"') {
            return None;
        }
        let key_end = string_end(bytes, w.at.offset, n)?;
        let is_items = &bytes[w.at.offset..key_end] == b"\"items\"";
        w.to(key_end);
        skip_blanks(&mut w);
        if at(&w) != Some(b':') {
            return None;
        }
        step(&mut w);
        skip_blanks(&mut w);
        if is_items {
            if at(&w) != Some(b'[') {
                return None;
            }
            break;
        }
        let end = skip_raw(bytes, w.at.offset, n).ok()?;
        w.to(end);
        skip_blanks(&mut w);
        if at(&w) != Some(b',') {
            return None;
        }
        step(&mut w);
    }
    let hole_start = w.at.offset;
    step(&mut w);
    let mut items = Vec::new();
    loop {
        skip_blanks(&mut w);
        match at(&w) {
            Some(b']') if items.is_empty() => break,
            Some(_) => {}
            None => return None,
        }
        let start = w.at;
        let end = skip_raw(bytes, start.offset, n).ok()?;
        w.to(end);
        items.push((start.offset..end, start));
        skip_blanks(&mut w);
        match at(&w) {
            Some(b',') => step(&mut w),
            Some(b']') => break,
            _ => return None,
        }
    }
    step(&mut w);
    Some(ListSplit {
        items,
        hole: Hole {
            range: hole_start..w.at.offset,
            end: w.at,
        },
    })
}
