//! Evidence chains: every decision the engine makes names the facts that led to it and the
//! resources (and fields) those facts come from, so a person can check it in their own files.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use meshaudit_model::{Inventory, Location, NodeStr, ObjectId, Step};

/// An owned step of a field path (see [`Step`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldStep {
    Key(NodeStr),
    Index(usize),
}

/// One link of an evidence chain: a fact, and where it comes from (if from a resource).
///
/// Shared, not copied: the same facts (a server's mode, a workload's membership) appear in the
/// chains of many edges, so a clone only counts a reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Because(Arc<Fact>);

/// What a [`Because`] says.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Fact {
    pub object: Option<ObjectId>,
    pub field: Box<[FieldStep]>,
    /// Fixed wording stays borrowed: most facts are, and edges hold hundreds of thousands.
    pub fact: Cow<'static, str>,
}

impl Deref for Because {
    type Target = Fact;

    fn deref(&self) -> &Fact {
        &self.0
    }
}

impl Because {
    /// A fact read from `field` of `object`.
    pub fn at(object: ObjectId, field: &[Step<'_>], fact: impl Into<Cow<'static, str>>) -> Self {
        Because(Arc::new(Fact {
            object: Some(object),
            field: field
                .iter()
                .map(|s| match s {
                    Step::Key(k) => FieldStep::Key(NodeStr::from(*k)),
                    Step::Index(i) => FieldStep::Index(*i),
                })
                .collect(),
            fact: fact.into(),
        }))
    }

    /// A fact about `object` as a whole.
    pub fn object(object: ObjectId, fact: impl Into<Cow<'static, str>>) -> Self {
        Because::at(object, &[], fact)
    }

    /// A fact that no single resource states: a default, or the absence of something.
    pub fn default(fact: impl Into<Cow<'static, str>>) -> Self {
        Because(Arc::new(Fact {
            object: None,
            field: Box::default(),
            fact: fact.into(),
        }))
    }

    pub fn steps(&self) -> Vec<Step<'_>> {
        self.field
            .iter()
            .map(|s| match s {
                FieldStep::Key(k) => Step::Key(k),
                FieldStep::Index(i) => Step::Index(*i),
            })
            .collect()
    }

    /// `spec.mtls.mode`, or empty for the whole object.
    pub fn field_text(&self) -> String {
        let mut out = String::new();
        for step in &self.field {
            match step {
                FieldStep::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                FieldStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// Where the fact can be read, if it comes from a resource.
    pub fn location(&self, inventory: &Inventory) -> Option<Location> {
        self.object
            .map(|id| inventory.object(id).location_of(&self.steps()))
    }

    /// The fact with its resource and place: `PeerAuthentication payments/strict
    /// (mesh.yaml:12) spec.mtls.mode: STRICT applies to …`.
    pub fn render(&self, inventory: &Inventory) -> String {
        match self.object {
            None => self.fact.to_string(),
            Some(id) => {
                let object = inventory.object(id);
                let location = self.location(inventory).unwrap_or(object.origin.clone());
                format!(
                    "{} {} ({location}): {}",
                    object.kind,
                    object.qualified_name(),
                    self.fact
                )
            }
        }
    }
}

impl fmt::Display for Because {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fact)
    }
}
