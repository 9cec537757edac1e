//! YAML (and JSON, which is YAML) into positioned [`Node`] trees, one per document.
//!
//! The stream is split at column-0 `---` markers first, so a syntax error spoils only its own
//! document and the rest of the file is still read.

use std::collections::HashMap;
use std::collections::HashSet;

use meshaudit_model::{Entry, Node, NodeStr, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deepest nesting accepted. Real manifests stay far below; the limit keeps hostile input from
/// exhausting the stack of anything that walks the tree.
pub const MAX_DEPTH: usize = 128;
/// Most nodes one document may expand to through aliases (a guard against "billion laughs").
pub const MAX_NODES_PER_DOCUMENT: usize = 2_000_000;

/// Whether a field is one no rule reads, dropped at ingest without building its nodes: the
/// `status` of a Kubernetes object and the `managedFields` of its metadata (server-side
/// bookkeeping that makes up most of a `kubectl get -o yaml|json` dump). Only these two exact
/// paths: a `status` elsewhere (a condition's, an annotation named `.../status`) is kept.
pub(crate) fn skipped_field(in_object: bool, in_metadata: bool, key: &str) -> bool {
    (in_object && key == "status") || (in_metadata && key == "managedFields")
}

/// What the root of a parsed text is, for the fields that are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A document: its root mapping is a Kubernetes object, and so is every item of that
    /// mapping's `items` sequence (a List parsed whole).
    Document,
    /// One item of a List cut out of its document (`- apiVersion: ...`): the root is a sequence
    /// of one object.
    Item,
}

/// What a mapping is to the fields both parsers skip (see [`skipped_field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapKind {
    Plain,
    /// A Kubernetes object: its `status` is skipped.
    Object,
    /// An object's `metadata`: its `managedFields` is skipped.
    Metadata,
}

/// Where a mapping starts, in terms both parsers' frames translate to.
pub(crate) enum MapParent<'a> {
    /// Nothing: the mapping is the document's root.
    Root,
    /// A sequence; `objects` when its items are Kubernetes objects (a List's `items`).
    Sequence { objects: bool },
    /// A mapping of `kind`, the new one being the value of `key`.
    Mapping { kind: MapKind, key: Option<&'a str> },
}

impl MapKind {
    /// The kind of a mapping that starts under `parent`.
    pub(crate) fn of_child(parent: MapParent<'_>) -> MapKind {
        match parent {
            MapParent::Root | MapParent::Sequence { objects: true } => MapKind::Object,
            MapParent::Mapping {
                kind: MapKind::Object,
                key: Some("metadata"),
            } => MapKind::Metadata,
            _ => MapKind::Plain,
        }
    }
}

/// One document of a stream.
#[derive(Debug)]
pub struct Document {
    /// 1-based line where the document's text starts.
    pub start_line: u32,
    /// `None` for a document that is empty or holds only comments.
    pub root: Option<Node>,
    /// The chart template named by a Helm `# Source:` comment above the document.
    pub helm_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Parses every document of `text`. Line numbers count from `first_line` (1 for a whole file).
pub fn parse_documents(text: &str, first_line: u32) -> (Vec<Document>, Vec<YamlError>) {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for chunk in split_documents(text) {
        parse_document_chunk(&chunk, first_line, &mut documents, &mut errors);
    }
    (documents, errors)
}

/// Parses one chunk of [`split_documents`]; lines count from `first_line` for the whole text.
pub fn parse_document_chunk(
    chunk: &Chunk<'_>,
    first_line: u32,
    documents: &mut Vec<Document>,
    errors: &mut Vec<YamlError>,
) {
    let start_line = first_line + chunk.line_offset;
    let helm_source = helm_source(chunk.text);
    match parse_chunk(chunk.text, start_line) {
        // An explicit `---` followed by nothing (or only comments) yields a null root.
        Ok(roots) if roots.iter().all(Node::is_null) => documents.push(Document {
            start_line,
            root: None,
            helm_source,
        }),
        Ok(roots) => {
            let single = roots.len() == 1;
            documents.extend(roots.into_iter().map(|root| Document {
                // Several documents in one chunk were separated by `...`: each starts at its root.
                start_line: if single { start_line } else { root.line },
                root: Some(root),
                helm_source: helm_source.clone(),
            }));
        }
        Err(mut e) => {
            // An error found at the end of the chunk (an unclosed bracket) belongs to its last
            // written line, not to the next document's `---`.
            let last_line = start_line + last_content_line(chunk.text);
            if e.line > last_line {
                e.line = last_line;
                e.column = 1;
            }
            errors.push(e);
        }
    }
}

/// 0-based index of the last line with content in `text`.
fn last_content_line(text: &str) -> u32 {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map_or(0, |(i, _)| to_u32(i))
}

/// One document's text (or several separated by `...`), as [`split_documents`] cuts them.
pub struct Chunk<'a> {
    pub text: &'a str,
    /// Lines before the chunk in the whole text.
    pub line_offset: u32,
}

/// Splits at lines that are a document marker (`---` at column 0, alone or followed by
/// whitespace or content). The marker line stays in its chunk so the parser sees it.
pub fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0u32;
    let mut offset = 0usize;
    for (line, raw_line) in text.split_inclusive('\n').enumerate() {
        let line = to_u32(line);
        let is_marker = raw_line.starts_with("---")
            && raw_line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if is_marker && offset > start {
            chunks.push(Chunk {
                text: &text[start..offset],
                line_offset: start_line,
            });
            start = offset;
            start_line = line;
        }
        offset += raw_line.len();
    }
    if start < text.len() || chunks.is_empty() {
        chunks.push(Chunk {
            text: &text[start..],
            line_offset: start_line,
        });
    }
    chunks
}

/// A List document cut into its items: the envelope (the document without its items, for its
/// `kind`) and one chunk per item.
pub struct ListSplit<'a> {
    pub envelope: String,
    /// Line offsets are from the start of the text given to [`split_list`].
    pub items: Vec<Chunk<'a>>,
}

/// Cuts a document laid out as kubectl prints a List (`items:` at column 0, then each item as
/// `- ...` at column 0 with its lines indented under it) into its items, so each is parsed on
/// its own: in parallel, with its own node budget, and a syntax error spoils only its item.
/// `None` for any other layout (the document is then parsed whole). Whether the document is a
/// `*List` is for the caller to check on the envelope.
pub fn split_list(text: &str) -> Option<ListSplit<'_>> {
    if !(text.starts_with("items:") || text.contains("\nitems:")) {
        return None;
    }
    let mut offset = 0usize;
    let mut region: Option<(usize, Option<usize>)> = None;
    let mut items = Vec::new();
    let mut current: Option<(usize, u32)> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let index = to_u32(index);
        match region {
            None => {
                if line.trim_end() == "items:" {
                    region = Some((offset + line.len(), None));
                }
            }
            Some((start, None)) => {
                if line.starts_with("- ") || line.trim_end() == "-" {
                    if let Some((s, l)) = current.take() {
                        items.push(Chunk {
                            text: &text[s..offset],
                            line_offset: l,
                        });
                    }
                    current = Some((offset, index));
                } else if line.trim().is_empty() || line.starts_with('#') {
                    // Blank lines and comments belong to whatever surrounds them.
                } else if line.starts_with(' ') {
                    // Items indented under `items:` are not kubectl's layout.
                    current?;
                } else {
                    // The next key of the document ends the items.
                    region = Some((start, Some(offset)));
                    break;
                }
            }
            Some((_, Some(_))) => break,
        }
        offset += line.len();
    }
    let (start, end) = region?;
    let end = end.unwrap_or(text.len());
    if let Some((s, l)) = current.take() {
        items.push(Chunk {
            text: &text[s..end],
            line_offset: l,
        });
    }
    if items.is_empty() {
        return None;
    }
    let mut envelope = String::with_capacity(start + text.len() - end);
    envelope.push_str(&text[..start]);
    envelope.push_str(&text[end..]);
    Some(ListSplit { envelope, items })
}

/// Whether the envelope of a split List (see [`split_list`]) is a `*List` object whose items
/// were all cut out. Positions in the envelope are not used.
pub fn envelope_is_list(envelope: &str) -> bool {
    match parse_chunk(envelope, 1) {
        Ok(roots) => roots.len() == 1 && is_list_envelope(&roots[0]),
        Err(_) => false,
    }
}

/// A `*List` with `apiVersion` and an empty or null `items` (its items were parsed apart).
pub fn is_list_envelope(root: &Node) -> bool {
    let kind = root.get("kind").and_then(Node::as_str);
    let items_gone = root
        .get("items")
        .is_some_and(|i| i.is_null() || i.as_seq().is_some_and(<[Node]>::is_empty));
    kind.is_some_and(|k| k.ends_with("List"))
        && root.get("apiVersion").and_then(Node::as_str).is_some()
        && items_gone
}

pub(crate) fn helm_source(chunk: &str) -> Option<String> {
    for line in chunk.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed == "---" {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('#') {
            if let Some(source) = rest.trim().strip_prefix("Source:") {
                return Some(source.trim().to_owned());
            }
            continue;
        }
        return None;
    }
    None
}

enum Frame {
    Seq {
        items: Vec<Node>,
        line: u32,
        column: u32,
        anchor: usize,
        /// Items are Kubernetes objects (a List's `items`): each has its own node budget.
        objects: bool,
    },
    Map {
        entries: Vec<Entry>,
        /// Built once a mapping grows large, so duplicate checks stay linear.
        seen: Option<HashSet<NodeStr>>,
        /// Entries from `<<` merge keys; explicit keys win over them whatever their order.
        merged: Vec<Entry>,
        pending_key: Option<(NodeStr, u32, u32)>,
        line: u32,
        column: u32,
        anchor: usize,
        kind: MapKind,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    roots: Vec<Node>,
    nodes: usize,
    line_base: u32,
    role: Role,
    /// Inside a skipped value: how many collections deep (`Some(0)` before its first event).
    skip: Option<usize>,
    /// Anchors defined inside skipped values, for a clear message if an alias names one.
    skipped_anchors: HashSet<usize>,
}

fn err(line: u32, column: u32, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        column,
        message: message.into(),
    }
}

fn parse_chunk(text: &str, start_line: u32) -> Result<Vec<Node>, YamlError> {
    parse_with_role(text, start_line, Role::Document)
}

/// Parses one item of a List as [`split_list`] cut it (`- apiVersion: ...` and the lines under
/// it), whose first line is `first_line` of the whole text.
pub fn parse_list_item(text: &str, first_line: u32) -> Result<Option<Node>, YamlError> {
    let roots = parse_with_role(text, first_line, Role::Item)?;
    let mut items = roots.into_iter().filter_map(|root| match root.value {
        Value::Seq(items) => Some(items),
        _ => None,
    });
    Ok(items.next().and_then(|items| items.into_iter().next()))
}

fn parse_with_role(text: &str, start_line: u32, role: Role) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        roots: Vec::new(),
        nodes: 0,
        line_base: start_line - 1,
        role,
        skip: None,
        skipped_anchors: HashSet::new(),
    };
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            err(
                b.line_base + to_u32(m.line()),
                to_u32(m.col()) + 1,
                if e.info().contains("recursion limit") {
                    format!(
                        "document is nested deeper than the parser allows ({})",
                        e.info()
                    )
                } else {
                    format!("invalid YAML: {}", e.info())
                },
            )
        })?;
        b.handle(event, span)?;
    }
    Ok(b.roots)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Builder {
    fn pos(&self, span: &Span) -> (u32, u32) {
        (
            self.line_base + to_u32(span.start.line()),
            to_u32(span.start.col()) + 1,
        )
    }

    /// Follows a skipped value's events without building anything; ends the skip, and drops
    /// the value's key, once the value is complete.
    fn skip_event(&mut self, depth: usize, event: &Event<'_>) {
        if let Event::Scalar(_, _, anchor, _)
        | Event::SequenceStart(anchor, _)
        | Event::MappingStart(anchor, _) = event
        {
            if *anchor > 0 {
                self.skipped_anchors.insert(*anchor);
            }
        }
        let depth = match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => depth + 1,
            Event::SequenceEnd | Event::MappingEnd => depth.saturating_sub(1),
            _ => depth,
        };
        let done = depth == 0
            && matches!(
                event,
                Event::Scalar(..) | Event::Alias(_) | Event::SequenceEnd | Event::MappingEnd
            );
        if done {
            self.skip = None;
            if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                *pending_key = None;
            }
        } else {
            self.skip = Some(depth);
        }
    }

    fn child_map_kind(&self) -> MapKind {
        MapKind::of_child(match self.stack.last() {
            None => MapParent::Root,
            Some(Frame::Seq { objects, .. }) => MapParent::Sequence { objects: *objects },
            Some(Frame::Map {
                kind, pending_key, ..
            }) => MapParent::Mapping {
                kind: *kind,
                key: pending_key.as_ref().map(|(key, ..)| &**key),
            },
        })
    }

    fn child_seq_holds_objects(&self) -> bool {
        match self.role {
            Role::Item => self.stack.is_empty(),
            Role::Document => {
                self.stack.len() == 1
                    && matches!(
                        self.stack.last(),
                        Some(Frame::Map { kind: MapKind::Object, pending_key: Some((key, ..)), .. })
                            if key == "items"
                    )
            }
        }
    }

    fn handle(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        if let Some(depth) = self.skip {
            self.skip_event(depth, &event);
            return Ok(());
        }
        let (line, column) = self.pos(&span);
        match event {
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    let message = if self.skipped_anchors.contains(&id) {
                        "alias refers to an anchor inside an object's `status` or \
                         `metadata.managedFields`, which are not read"
                    } else {
                        "alias refers to an anchor that is not defined"
                    };
                    err(line, column, message)
                })?;
                self.nodes += count_nodes(&node);
                if self.nodes > MAX_NODES_PER_DOCUMENT {
                    return Err(err(
                        line,
                        column,
                        format!("aliases expand this document past {MAX_NODES_PER_DOCUMENT} nodes"),
                    ));
                }
                self.push_node(Node {
                    line,
                    column,
                    ..node
                })
            }
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag
                    .as_ref()
                    .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::String(NodeStr::from(text))
                };
                let node = Node::new(value, line, column);
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
            Event::SequenceStart(anchor, _) => {
                self.enter(line, column)?;
                let objects = self.child_seq_holds_objects();
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    line,
                    column,
                    anchor,
                    objects,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.enter(line, column)?;
                let kind = self.child_map_kind();
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    seen: None,
                    merged: Vec::new(),
                    pending_key: None,
                    line,
                    column,
                    anchor,
                    kind,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        mut items,
                        line,
                        column,
                        anchor,
                        ..
                    }) => {
                        // Trees live as long as the scan: give back what growing left spare.
                        items.shrink_to_fit();
                        (Node::new(Value::Seq(items), line, column), anchor)
                    }
                    Some(Frame::Map {
                        mut entries,
                        merged,
                        line,
                        column,
                        anchor,
                        ..
                    }) => {
                        for entry in merged {
                            if !entries.iter().any(|e| e.key == entry.key) {
                                entries.push(entry);
                            }
                        }
                        entries.shrink_to_fit();
                        (Node::new(Value::Map(entries), line, column), anchor)
                    }
                    None => return Err(err(line, column, "unbalanced collection end")),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
        }
    }

    fn enter(&mut self, line: u32, column: u32) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(err(
                line,
                column,
                format!("document is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES_PER_DOCUMENT {
            return Err(err(
                node.line,
                node.column,
                format!("document has more than {MAX_NODES_PER_DOCUMENT} nodes"),
            ));
        }
        match self.stack.last_mut() {
            None => {
                self.roots.push(node);
                self.nodes = 0;
                self.anchors.clear();
                Ok(())
            }
            Some(Frame::Seq { items, objects, .. }) => {
                items.push(node);
                if *objects {
                    // The budget is per object: a List of many small items is not one big one.
                    self.nodes = 0;
                }
                Ok(())
            }
            Some(Frame::Map {
                entries,
                seen,
                merged,
                pending_key,
                kind,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match node.value {
                        Value::String(s) => s,
                        Value::Null => NodeStr::default(),
                        ref v @ (Value::Bool(_) | Value::Int(_) | Value::Float(_)) => {
                            NodeStr::from(
                                node.scalar_text()
                                    .unwrap_or_else(|| v.type_name().to_owned()),
                            )
                        }
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(err(
                                node.line,
                                node.column,
                                "mapping keys must be scalars (complex keys are not supported)",
                            ))
                        }
                    };
                    if skipped_field(*kind == MapKind::Object, *kind == MapKind::Metadata, &key) {
                        self.skip = Some(0);
                    }
                    *pending_key = Some((key, node.line, node.column));
                    Ok(())
                }
                Some((key, key_line, key_column)) => {
                    if key == "<<" {
                        merge_into(merged, node);
                        return Ok(());
                    }
                    let duplicate = match seen {
                        Some(set) => !set.insert(key.clone()),
                        None => {
                            let dup = entries.iter().any(|e| e.key == key);
                            if entries.len() >= 16 {
                                *seen = Some(entries.iter().map(|e| e.key.clone()).collect());
                                if let Some(set) = seen {
                                    set.insert(key.clone());
                                }
                            }
                            dup
                        }
                    };
                    if duplicate {
                        return Err(err(
                            key_line,
                            key_column,
                            format!("duplicate key `{key}` in the same mapping"),
                        ));
                    }
                    entries.push(Entry {
                        key,
                        key_line,
                        key_column,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }
}

/// YAML 1.1 merge keys (`<<: *defaults`); with several sources the first one wins.
fn merge_into(merged: &mut Vec<Entry>, node: Node) {
    let sources = match node.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => items
            .into_iter()
            .filter_map(|n| match n.value {
                Value::Map(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for source in sources {
        for entry in source {
            if !merged.iter().any(|e| e.key == entry.key) {
                merged.push(entry);
            }
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    // Iterative: an alias may name a deep tree.
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    count
}

/// Resolves a plain scalar with the YAML 1.2 core schema, as Kubernetes' decoder does for the
/// values that matter here.
pub(crate) fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let bytes = text.as_bytes();
    let digits = bytes
        .strip_prefix(b"-")
        .or_else(|| bytes.strip_prefix(b"+"))
        .unwrap_or(bytes);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = i64::from_str_radix(hex, 16) {
            return Value::Int(n);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(n) = i64::from_str_radix(oct, 8) {
            return Value::Int(n);
        }
    }
    if looks_like_float(digits) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::String(NodeStr::from(text))
}

fn looks_like_float(s: &[u8]) -> bool {
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' if seen_digit => {
                let rest = &s[i + 1..];
                let rest = rest
                    .strip_prefix(b"-")
                    .or_else(|| rest.strip_prefix(b"+"))
                    .unwrap_or(rest);
                return !rest.is_empty() && rest.iter().all(u8::is_ascii_digit);
            }
            _ => return false,
        }
        i += 1;
    }
    seen_digit && seen_dot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Document>, Vec<YamlError>) {
        parse_documents(text, 1)
    }

    #[test]
    fn documents_keep_lines_across_markers() {
        let (docs, errors) =
            parse("a: 1\n---\n# only a comment\n---\nkind: Service\nmetadata:\n  name: x\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 3);
        assert!(docs[1].root.is_none());
        let third = docs[2].root.as_ref().unwrap();
        assert_eq!(
            third.position_of(&["metadata".into(), "name".into()]),
            Some((7, 3))
        );
    }

    #[test]
    fn a_syntax_error_spoils_only_its_document() {
        let (docs, errors) = parse("a: [1, 2\n---\nb: 2\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].line >= 1 && errors[0].line <= 2, "{errors:?}");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].root.as_ref().unwrap().get("b").unwrap().line, 3);
    }

    #[test]
    fn duplicate_keys_are_errors_with_the_second_key_line() {
        let (_, errors) = parse("metadata:\n  name: a\n  name: b\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("duplicate key `name`"));
    }

    #[test]
    fn duplicate_keys_in_large_mappings_are_found() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\n");
        let (_, errors) = parse(&text);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 41);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (_, errors) = parse(&text);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("nested deeper"), "{errors:?}");
        let deep_block = (0..300)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>();
        let (_, errors) = parse(&deep_block);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("nested deeper"), "{errors:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h'] {
            text.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let (_, errors) = parse(&text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("nodes"));
    }

    #[test]
    fn scalars_resolve_with_the_core_schema() {
        let (docs, _) =
            parse("a: 80\nb: \"80\"\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x1F\nh: !!str 12\n");
        let root = docs[0].root.as_ref().unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Int(80));
        assert_eq!(root.get("b").unwrap().value, Value::String("80".into()));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().value, Value::String("yes".into()));
        assert_eq!(root.get("e").unwrap().value, Value::Null);
        assert_eq!(root.get("f").unwrap().value, Value::Float(1.5));
        assert_eq!(root.get("g").unwrap().value, Value::Int(31));
        assert_eq!(root.get("h").unwrap().value, Value::String("12".into()));
    }

    #[test]
    fn json_is_read_with_lines() {
        let (docs, errors) =
            parse("{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"Pod\"}\n  ]\n}\n");
        assert!(errors.is_empty(), "{errors:?}");
        let root = docs[0].root.as_ref().unwrap();
        assert_eq!(root.get("items").unwrap().index(0).unwrap().line, 4);
    }

    #[test]
    fn helm_source_comments_are_kept() {
        let (docs, _) =
            parse("---\n# Source: chart/templates/svc.yaml\napiVersion: v1\nkind: Service\n");
        assert_eq!(
            docs[0].helm_source.as_deref(),
            Some("chart/templates/svc.yaml")
        );
    }

    #[test]
    fn status_and_managed_fields_are_skipped_at_their_paths_only() {
        let (docs, errors) = parse(
            "kind: Pod\nmetadata:\n  name: p\n  managedFields:\n  - manager: x\n    status: 1\n  labels: {status: a}\nspec:\n  status: kept\n  managedFields: kept\nstatus:\n  phase: Running\nafter: 1\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let root = docs[0].root.as_ref().unwrap();
        assert!(root.get("status").is_none());
        assert!(root.get("metadata").unwrap().get("managedFields").is_none());
        assert!(root
            .at(&["metadata".into(), "labels".into(), "status".into()])
            .is_some());
        assert!(root.at(&["spec".into(), "status".into()]).is_some());
        assert!(root.at(&["spec".into(), "managedFields".into()]).is_some());
        assert_eq!(root.position_of(&["after".into()]), Some((13, 1)));
        let (_, errors) = parse("kind: Pod\nstatus: &s {a: 1}\nspec: *s\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("not read"), "{errors:?}");
    }

    #[test]
    fn kubectl_lists_are_cut_at_their_items() {
        let text = "apiVersion: v1\nitems:\n- kind: A\n  x:\n  - 1\n\n- kind: B\nkind: List\nmetadata: {}\n";
        let split = split_list(text).unwrap();
        assert_eq!(split.items.len(), 2);
        assert_eq!(split.items[0].text, "- kind: A\n  x:\n  - 1\n\n");
        assert_eq!(split.items[1].line_offset, 6);
        assert!(envelope_is_list(&split.envelope));
        let item = parse_list_item(split.items[1].text, 7).unwrap().unwrap();
        assert_eq!(item.position_of(&["kind".into()]), Some((7, 3)));
        assert_eq!(item.get("kind").unwrap().column, 9);
        // Items indented under `items:`, or a document without `items:`: not cut.
        assert!(split_list("kind: List\nitems:\n  - kind: A\n").is_none());
        assert!(split_list("kind: Service\n").is_none());
        // Not a List: the envelope says so.
        let thing = split_list("kind: Thing\napiVersion: v1\nitems:\n- a: 1\n").unwrap();
        assert!(!envelope_is_list(&thing.envelope));
    }

    #[test]
    fn merge_keys_merge() {
        let (docs, errors) = parse("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        assert!(errors.is_empty(), "{errors:?}");
        let d = docs[0].root.as_ref().unwrap().get("derived").unwrap();
        assert_eq!(d.get("x").unwrap().value, Value::Int(1));
        assert_eq!(d.get("y").unwrap().value, Value::Int(3));
    }
}
