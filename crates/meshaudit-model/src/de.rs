//! serde deserialization from a positioned [`Node`] tree, so typed views of a resource can be
//! declared with `#[derive(Deserialize)]` while type errors still name the field and its line.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::node::{Entry, FieldPath, Node, Value};

/// A field of the wrong type or shape, located in its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub message: String,
    pub path: FieldPath,
    pub line: u32,
    pub column: u32,
    located: bool,
}

impl FieldError {
    fn locate(mut self, node: &Node) -> Self {
        if !self.located {
            self.line = node.line;
            self.column = node.column;
            self.located = true;
        }
        self
    }

    fn under_key(mut self, key: &str) -> Self {
        self.path.push_front_key(key);
        self
    }

    fn under_index(mut self, index: usize) -> Self {
        self.path.push_front_index(index);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FieldError {
            message: msg.to_string(),
            path: FieldPath::default(),
            line: 0,
            column: 0,
            located: false,
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {}", describe(&unexp)))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {}", describe(&unexp)))
    }
}

fn describe(unexp: &de::Unexpected<'_>) -> String {
    match unexp {
        de::Unexpected::Map => "a mapping".to_owned(),
        de::Unexpected::Seq => "a sequence".to_owned(),
        de::Unexpected::Unit => "null".to_owned(),
        other => other.to_string(),
    }
}

/// Deserializes a typed view from a node.
pub fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, FieldError> {
    T::deserialize(NodeDeserializer(node))
}

struct NodeDeserializer<'a>(&'a Node);

impl<'de> NodeDeserializer<'de> {
    fn scalar_text(&self) -> Option<String> {
        self.0.scalar_text()
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident : $ty:ty),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
                // Kubernetes writes ports and counts both as numbers and as quoted strings.
                let result = match &self.0.value {
                    Value::String(s) => match s.trim().parse::<$ty>() {
                        Ok(n) => visitor.$visit(n),
                        Err(_) => Err(<FieldError as de::Error>::invalid_type(de::Unexpected::Str(s), &visitor)),
                    },
                    _ => return self.deserialize_any(visitor),
                };
                result.map_err(|e: FieldError| e.locate(self.0))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let node = self.0;
        let result = match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(NodeSeq {
                items: items.iter(),
                index: 0,
            }),
            Value::Map(entries) => visitor.visit_map(NodeMap {
                entries: entries.iter(),
                current: None,
            }),
        };
        result.map_err(|e: FieldError| e.locate(node))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        // An unquoted `8080` or `true` where a string is expected is read as its text, as
        // Kubernetes' own decoders do for annotation-like fields.
        let node = self.0;
        let result = match &node.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                visitor.visit_string(self.scalar_text().unwrap_or_default())
            }
            _ => return self.deserialize_any(visitor),
        };
        result.map_err(|e: FieldError| e.locate(node))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let node = self.0;
        let result = match &node.value {
            Value::String(s) if s == "true" || s == "false" => visitor.visit_bool(s == "true"),
            _ => return self.deserialize_any(visitor),
        };
        result.map_err(|e: FieldError| e.locate(node))
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        let node = self.0;
        let result = match &node.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::custom(format_args!(
                "expected a string, found {}",
                node.type_name()
            ))),
        };
        result.map_err(|e: FieldError| e.locate(node))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

struct NodeSeq<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
}

impl<'de> SeqAccess<'de> for NodeSeq<'de> {
    type Error = FieldError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FieldError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(NodeDeserializer(item))
            .map(Some)
            .map_err(|e| e.locate(item).under_index(index))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct NodeMap<'a> {
    entries: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
}

impl<'de> MapAccess<'de> for NodeMap<'de> {
    type Error = FieldError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FieldError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        seed.deserialize(KeyDeserializer(&entry.key))
            .map(Some)
            .map_err(|e| {
                let mut e = e.under_key(&entry.key);
                e.line = entry.key_line;
                e.column = entry.key_column;
                e.located = true;
                e
            })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, FieldError> {
        let entry = self
            .current
            .take()
            .ok_or_else(|| <FieldError as de::Error>::custom("value requested before key"))?;
        seed.deserialize(NodeDeserializer(&entry.value))
            .map_err(|e| e.locate(&entry.value).under_key(&entry.key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Mapping keys are always text in the tree; numeric keys (Istio's `portLevelMtls`) parse here.
struct KeyDeserializer<'a>(&'a str);

macro_rules! key_integer {
    ($($method:ident => $visit:ident : $ty:ty),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
                match self.0.trim().parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(<FieldError as de::Error>::invalid_type(de::Unexpected::Str(self.0), &visitor)),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_borrowed_str(self.0)
    }

    key_integer! {
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i128 u8 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn scalar(v: Value, line: u32) -> Node {
        Node::new(v, line, 5)
    }

    fn map(entries: Vec<(&str, Node)>, line: u32) -> Node {
        Node::new(
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, value)| Entry {
                        key: k.into(),
                        key_line: value.line,
                        key_column: 1,
                        value,
                    })
                    .collect(),
            ),
            line,
            1,
        )
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        #[serde(default)]
        ports: Vec<Port>,
        #[serde(default)]
        port_level: BTreeMap<u32, String>,
    }

    #[derive(Deserialize, Debug)]
    struct Port {
        port: u16,
    }

    #[test]
    fn wrong_type_names_field_path_and_line() {
        let doc = map(
            vec![(
                "ports",
                Node::new(
                    Value::Seq(vec![map(
                        vec![("port", scalar(Value::String("http".into()), 7))],
                        7,
                    )]),
                    6,
                    3,
                ),
            )],
            5,
        );
        let err = from_node::<Spec>(&doc).unwrap_err();
        assert_eq!(err.line, 7);
        assert_eq!(
            err.to_string(),
            "ports[0].port: expected u16, found string \"http\""
        );
    }

    #[test]
    fn numeric_strings_and_numeric_keys_are_accepted() {
        let doc = map(
            vec![
                (
                    "ports",
                    Node::new(
                        Value::Seq(vec![map(
                            vec![("port", scalar(Value::String("8080".into()), 3))],
                            3,
                        )]),
                        2,
                        1,
                    ),
                ),
                (
                    "portLevel",
                    map(vec![("9080", scalar(Value::String("STRICT".into()), 5))], 5),
                ),
            ],
            1,
        );
        let spec = from_node::<Spec>(&doc).unwrap();
        assert_eq!(spec.ports[0].port, 8080);
        assert_eq!(
            spec.port_level.get(&9080).map(String::as_str),
            Some("STRICT")
        );
    }
}
