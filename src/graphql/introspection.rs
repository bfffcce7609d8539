//! Where async-graphql 7.0's introspection says something untrue about chatgate's schema.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};

/// Answers `__schema { description }` with `null`, the answer for a schema without a
/// description. async-graphql answers the built-in `__Schema` type's own documentation text
/// there, which GraphiQL and code generators would show as if it described chatgate.
pub struct NoSchemaDescription;

impl ExtensionFactory for NoSchemaDescription {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoSchemaDescription)
    }
}

#[async_trait::async_trait]
impl Extension for NoSchemaDescription {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection && info.parent_type == "__Schema" && info.name == "description"
        {
            return Ok(Some(Value::Null));
        }
        next.run(ctx, info).await
    }
}
