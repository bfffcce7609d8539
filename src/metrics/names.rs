//! The bounded set of GraphQL operation names used as label values.
//!
//! Clients choose operation names freely, so each would otherwise be a new series: a name is
//! its own label value only if it is a GraphQL name of at most 64 characters that the document
//! defines, and only among the first [`MAX_OPERATION_NAMES`] distinct names this server saw.
//! Everything else (unnamed operations, names the document does not define, documents that do
//! not parse, names past the bound) is [`OTHER_NAME`].

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;

/// How many distinct operation names get a label value of their own.
pub const MAX_OPERATION_NAMES: usize = 100;

/// The label value every name without one of its own shares.
pub const OTHER_NAME: &str = "other";

/// Longest name kept as a label value.
const MAX_NAME_LEN: usize = 64;

/// Names admitted so far.
pub(super) struct OperationNames {
    admitted: RwLock<HashSet<Arc<str>>>,
    other: Arc<str>,
}

impl Default for OperationNames {
    fn default() -> Self {
        Self {
            admitted: RwLock::default(),
            other: Arc::from(OTHER_NAME),
        }
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most [`MAX_NAME_LEN`] characters.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_NAME_LEN
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl OperationNames {
    /// The label value for `name` (`None`: unnamed or not defined by the document).
    pub(super) fn label(&self, name: Option<&str>) -> Arc<str> {
        let Some(name) = name.filter(|n| is_label_name(n)) else {
            return self.other.clone();
        };
        if let Some(known) = self.admitted.read().get(name) {
            return known.clone();
        }
        let mut admitted = self.admitted.write();
        if let Some(known) = admitted.get(name) {
            return known.clone();
        }
        if admitted.len() >= MAX_OPERATION_NAMES || name == OTHER_NAME {
            return self.other.clone();
        }
        let name: Arc<str> = Arc::from(name);
        admitted.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_names_that_are_graphql_names_get_their_own_value() {
        let names = OperationNames::default();
        assert_eq!(&*names.label(Some("ListChats")), "ListChats");
        assert_eq!(&*names.label(None), OTHER_NAME);
        assert_eq!(&*names.label(Some("9lives")), OTHER_NAME);
        assert_eq!(&*names.label(Some("has space")), OTHER_NAME);
        assert_eq!(&*names.label(Some(&"a".repeat(65))), OTHER_NAME);
        assert_eq!(&*names.label(Some(&"a".repeat(64))), "a".repeat(64));
        for i in 0..MAX_OPERATION_NAMES {
            names.label(Some(&format!("Op{i}")));
        }
        assert_eq!(&*names.label(Some("OneTooMany")), OTHER_NAME);
        assert_eq!(
            &*names.label(Some("ListChats")),
            "ListChats",
            "admitted names stay"
        );
    }
}
