//! Where async-graphql 7.0's introspection says something untrue about chatgate's schema.

use async_graphql::extensions::ResolveInfo;

/// Whether the field being resolved is `__schema { description }`, which the request pipeline
/// answers with `null`, the answer for a schema without a description. async-graphql answers
/// the built-in `__Schema` type's own documentation text there, which GraphiQL and code
/// generators would show as if it described chatgate.
pub(super) fn is_schema_description(info: &ResolveInfo<'_>) -> bool {
    info.is_for_introspection && info.parent_type == "__Schema" && info.name == "description"
}
