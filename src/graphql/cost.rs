//! What a query costs, and the limit on it: the one place where cost is counted (README,
//! "Limits"). Checked right after parsing, before validation or anything else runs
//! (`super::pipeline`).
//!
//! - Every selected field costs 1, aliases and `__typename` included (async-graphql's own
//!   complexity count skips `__typename`, which is why this is our own).
//! - A field that returns a page (`ChatPage`, `ConversationPage`, `MessagePage`) costs 1 plus its
//!   page size (its `limit`, else the list's default, at most 100) times the cost of what is
//!   selected inside it.
//! - Each field selected at the top of an operation (on `Query`, `Mutation` or
//!   `Subscription`, `__typename` included) costs [`TOP_LEVEL_FIELD_COST`] more: each is a
//!   separate piece of work (a store operation for all but `__typename`), so one request holds
//!   at most a couple of dozen of them however little each selects. This is what bounds
//!   aliasing at the top: thousands of aliased lists, lookups or mutations are refused.
//!
//! Every operation in the document counts, as async-graphql counts them. Fragments count
//! wherever they are spread.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{OutputType, Positioned, ServerError, ServerResult, Value, Variables};

use super::errors::set_code;
use super::types::{ChatPage, ConversationPage, MessagePage};
use crate::domain::PageRequest;
use crate::error::ErrorCode;
use crate::service::defaults;

/// Extra cost of each field selected at the top of an operation.
pub const TOP_LEVEL_FIELD_COST: usize = 10_000;

/// How deep the count follows fields and fragment spreads together. Deeper documents are
/// refused as too costly; the depth limit (20) refuses them anyway, this only keeps a chain of
/// fragments from recursing without bound before validation sees it.
const MAX_WALK_DEPTH: usize = 128;

/// What async-graphql answers for a query over its complexity limit; we keep its words.
const TOO_COMPLEX: &str = "Query is too complex.";

/// Refuses, with `GRAPHQL_VALIDATION_FAILED`, a document costing more than `max` with these
/// variables.
pub(super) fn check(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
    max: usize,
) -> ServerResult<()> {
    if cost(registry, document, variables) > max {
        let mut error = ServerError::new(TOO_COMPLEX, None);
        set_code(&mut error, ErrorCode::GraphqlValidationFailed);
        return Err(error);
    }
    Ok(())
}

/// The cost of every operation in `document` together.
pub fn cost(registry: &Registry, document: &ExecutableDocument, variables: &Variables) -> usize {
    document
        .operations
        .iter()
        .map(|(_, operation)| {
            let root = match operation.node.ty {
                OperationType::Query => Some(registry.query_type.as_str()),
                OperationType::Mutation => registry.mutation_type.as_deref(),
                OperationType::Subscription => registry.subscription_type.as_deref(),
            };
            let mut walk = Walk {
                registry,
                document,
                variables,
                definitions: &operation.node.variable_definitions,
                fragments: HashMap::new(),
                depth: 0,
            };
            walk.selection_set(root, &operation.node.selection_set.node)
        })
        .fold(0, usize::saturating_add)
}

/// The default page size of a page type, `None` for any other type.
fn default_page_size(type_name: &str) -> Option<u64> {
    [
        (ChatPage::type_name(), defaults::CHATS_LIMIT),
        (ConversationPage::type_name(), defaults::CONVERSATIONS_LIMIT),
        (MessagePage::type_name(), defaults::MESSAGES_LIMIT),
    ]
    .into_iter()
    .find_map(|(name, size)| (name == type_name).then_some(size))
}

/// The cost of a page: the page size (clamped like the page itself; a negative limit is
/// refused later and counts as one item here, so does `limit: 0`) times the cost of one item,
/// plus 1 for the field.
fn page_cost(limit: Option<i64>, default_limit: u64, item_cost: usize) -> usize {
    let size = limit.map_or(default_limit, |l| u64::try_from(l).unwrap_or(1));
    let size = usize::try_from(PageRequest::clamped(size, 0).limit).unwrap_or(usize::MAX);
    size.max(1).saturating_mul(item_cost).saturating_add(1)
}

/// One operation's count.
struct Walk<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
    /// Each fragment's cost once counted, `None` while it is being counted (a cycle, which
    /// validation refuses, then counts nothing more).
    fragments: HashMap<&'a str, Option<usize>>,
    depth: usize,
}

impl<'a> Walk<'a> {
    /// The cost of `set`, selected on the type named `on` (`None` when unknown: each field
    /// then costs 1 plus its own selection, and validation will name the mistake).
    fn selection_set(&mut self, on: Option<&'a str>, set: &'a SelectionSet) -> usize {
        if self.depth >= MAX_WALK_DEPTH {
            return usize::MAX;
        }
        self.depth += 1;
        let mut total = 0usize;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => self.field(on, &field.node),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map(|condition| condition.node.on.node.as_str())
                        .or(on);
                    self.selection_set(on, &inline.selection_set.node)
                }
            };
            total = total.saturating_add(cost);
        }
        self.depth -= 1;
        total
    }

    fn field(&mut self, parent: Option<&'a str>, field: &'a Field) -> usize {
        let name = field.name.node.as_str();
        let meta = parent
            .and_then(|parent| self.registry.concrete_type_by_name(parent))
            .and_then(|parent| parent.field_by_name(name));
        let child_type = meta.map(|meta| MetaTypeName::concrete_typename(&meta.ty));
        let inside = self.selection_set(child_type, &field.selection_set.node);
        let own = match child_type.and_then(default_page_size) {
            Some(default) => page_cost(self.limit(field), default, inside),
            None => inside.saturating_add(1),
        };
        if parent.is_some_and(|parent| self.is_root(parent)) {
            own.saturating_add(TOP_LEVEL_FIELD_COST)
        } else {
            own
        }
    }

    fn fragment(&mut self, name: &'a str) -> usize {
        match self.fragments.get(name) {
            Some(Some(cost)) => return *cost,
            Some(None) => return 0,
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return 0;
        };
        self.fragments.insert(name, None);
        let fragment = &fragment.node;
        let on = fragment.type_condition.node.on.node.as_str();
        let cost = self.selection_set(Some(on), &fragment.selection_set.node);
        self.fragments.insert(name, Some(cost));
        cost
    }

    fn is_root(&self, type_name: &str) -> bool {
        type_name == self.registry.query_type
            || self.registry.mutation_type.as_deref() == Some(type_name)
            || self.registry.subscription_type.as_deref() == Some(type_name)
    }

    /// The `limit` argument: a literal, or a variable's value (else its default).
    fn limit(&self, field: &Field) -> Option<i64> {
        let argument = field.get_argument("limit")?.node.clone();
        let value = argument
            .into_const_with(|name| {
                self.variables
                    .get(&name)
                    .or_else(|| {
                        self.definitions
                            .iter()
                            .find(|def| def.node.name.node == name)
                            .and_then(|def| def.node.default_value.as_ref())
                            .map(|default| &default.node)
                    })
                    .cloned()
                    .ok_or(())
            })
            .ok()?;
        match value {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_clamped_size_times_one_item_plus_one() {
        assert_eq!(page_cost(None, 50, 3), 151);
        assert_eq!(page_cost(Some(10), 50, 3), 31);
        assert_eq!(page_cost(Some(1_000_000), 50, 3), 301, "clamped to 100");
        assert_eq!(page_cost(Some(0), 50, 3), 4, "counted as one item");
        assert_eq!(
            page_cost(Some(-5), 50, 3),
            4,
            "refused later; one item here"
        );
        assert_eq!(page_cost(None, 100, usize::MAX), usize::MAX, "saturates");
    }

    #[test]
    fn each_page_type_has_its_list_default_size() {
        assert_eq!(default_page_size("ChatPage"), Some(defaults::CHATS_LIMIT));
        assert_eq!(
            default_page_size("ConversationPage"),
            Some(defaults::CONVERSATIONS_LIMIT)
        );
        assert_eq!(
            default_page_size("MessagePage"),
            Some(defaults::MESSAGES_LIMIT)
        );
        assert_eq!(default_page_size("Chat"), None);
    }
}
