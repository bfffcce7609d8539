//! Which variable values a cached document has already been validated with.
//!
//! async-graphql's validation reads variable values in one place: an argument whose value uses
//! a variable is checked with the variable's value substituted. So a document that validated
//! with some values validates with any values that are the same for that check. A *shape*
//! records a request's values up to that sameness, conservatively: any string is the same as
//! any other for a variable declared `ID` or `String` (the GraphQL spec accepts every string
//! for both), and every other value counts as itself (an enum name, a number, a list, an
//! object). A request whose shape validated before runs with validation reduced to the
//! document-only fast mode; the one that validates a new shape runs the full validation.

use async_graphql::parser::types::{BaseType, DocumentOperations, ExecutableDocument};
use async_graphql::{Name, Value, Variables};
use parking_lot::Mutex;

/// How many shapes one document remembers; further shapes are validated every time.
const MAX_SHAPES: usize = 16;

/// A document's declared variables and the shapes it validated with.
#[derive(Default)]
pub(in crate::graphql) struct Shapes {
    /// Every variable any operation declares, once, with whether all its declarations are
    /// `ID` or `String` (nullable or not, never a list).
    declared: Vec<(Name, bool)>,
    validated: Mutex<Vec<Box<str>>>,
}

impl Shapes {
    /// The variables `document` declares.
    pub(in crate::graphql) fn of(document: &ExecutableDocument) -> Self {
        let mut declared: Vec<(Name, bool)> = Vec::new();
        let operations: Vec<_> = match &document.operations {
            DocumentOperations::Single(operation) => vec![operation],
            DocumentOperations::Multiple(operations) => operations.values().collect(),
        };
        for definition in operations
            .into_iter()
            .flat_map(|operation| &operation.node.variable_definitions)
        {
            let name = &definition.node.name.node;
            let any_string = matches!(
                &definition.node.var_type.node.base,
                BaseType::Named(ty) if ty == "ID" || ty == "String"
            );
            match declared.iter_mut().find(|(known, _)| known == name) {
                Some((_, all_strings)) => *all_strings &= any_string,
                None => declared.push((name.clone(), any_string)),
            }
        }
        Self {
            declared,
            validated: Mutex::default(),
        }
    }

    /// The shape of `variables` for this document.
    pub(in crate::graphql) fn shape(&self, variables: &Variables) -> String {
        let mut shape = String::new();
        for (name, any_string) in &self.declared {
            match variables.get(name) {
                None => shape.push('-'),
                Some(Value::String(_)) if *any_string => shape.push('s'),
                Some(value) => {
                    shape.push('=');
                    shape.push_str(&serde_json::to_string(value).unwrap_or_default());
                }
            }
            shape.push('\0');
        }
        shape
    }

    /// Whether the document validated with values of this shape before.
    pub(in crate::graphql) fn validated(&self, shape: &str) -> bool {
        self.validated.lock().iter().any(|known| **known == *shape)
    }

    /// Notes that the document validated with values of this shape.
    pub(in crate::graphql) fn note_validated(&self, shape: String) {
        let mut validated = self.validated.lock();
        if validated.len() < MAX_SHAPES && !validated.iter().any(|known| **known == *shape) {
            validated.push(shape.into_boxed_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shapes(query: &str) -> Shapes {
        Shapes::of(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    fn vars(value: serde_json::Value) -> Variables {
        Variables::from_json(value)
    }

    #[test]
    fn strings_for_ids_and_strings_share_a_shape_and_nothing_else_does() {
        let doc = shapes("query ($id: ID!, $t: String, $n: Int, $p: Priority, $l: [ID!]) { a }");
        let base = doc.shape(&vars(
            json!({"id": "a", "t": "x", "n": 1, "p": "HIGH", "l": ["a"]}),
        ));
        let same = doc.shape(&vars(
            json!({"id": "b", "t": "y", "n": 1, "p": "HIGH", "l": ["a"]}),
        ));
        assert_eq!(base, same);
        for other in [
            json!({"id": 1, "t": "x", "n": 1, "p": "HIGH", "l": ["a"]}),
            json!({"id": "a", "t": 2.5, "n": 1, "p": "HIGH", "l": ["a"]}),
            json!({"id": "a", "t": "x", "n": 2, "p": "HIGH", "l": ["a"]}),
            json!({"id": "a", "t": "x", "n": "1", "p": "HIGH", "l": ["a"]}),
            json!({"id": "a", "t": "x", "n": 1, "p": "LOW", "l": ["a"]}),
            json!({"id": "a", "t": "x", "n": 1, "p": "HIGH", "l": ["b"]}),
            json!({"id": "a", "t": "x", "n": 1, "p": "HIGH"}),
            json!({"id": "a", "t": null, "n": 1, "p": "HIGH", "l": ["a"]}),
        ] {
            assert_ne!(doc.shape(&vars(other.clone())), base, "{other}");
        }
    }

    #[test]
    fn a_name_declared_with_another_type_elsewhere_counts_its_value() {
        let doc = shapes("query A($x: ID) { a } query B($x: Int) { b }");
        assert_ne!(
            doc.shape(&vars(json!({"x": "1"}))),
            doc.shape(&vars(json!({"x": "2"})))
        );
    }

    #[test]
    fn a_bounded_number_of_shapes_is_remembered() {
        let doc = shapes("query ($n: Int) { a }");
        for n in 0..40 {
            doc.note_validated(doc.shape(&vars(json!({ "n": n }))));
        }
        assert!(doc.validated(&doc.shape(&vars(json!({"n": 0})))));
        assert!(doc.validated(&doc.shape(&vars(json!({"n": 15})))));
        assert!(!doc.validated(&doc.shape(&vars(json!({"n": 16})))));
    }
}
