//! The schema's SDL, as committed in `schema.graphql` and served at `/schema.graphql`.

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::TypeSystemDefinition;
use async_graphql::{SDLExportOptions, Schema};

use super::{MutationRoot, QueryRoot, SubscriptionRoot};

/// The directives the GraphQL spec defines for every schema.
const BUILT_IN_DIRECTIVES: [&str; 5] = ["include", "skip", "deprecated", "specifiedBy", "oneOf"];

/// The SDL, stating exactly what introspection describes, so code generators working from the
/// file lose nothing: `@specifiedBy` on scalars included (async-graphql leaves it out by
/// default). Built once: the schema never changes while the process runs.
pub fn sdl() -> &'static str {
    static SDL: LazyLock<String> = LazyLock::new(|| {
        let printed = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
            .finish()
            .sdl_with_options(SDLExportOptions::new().include_specified_by());
        without_built_in_directives(&printed)
    });
    &SDL
}

/// `sdl` without the definitions of the spec's built-in directives, which the spec lets SDL
/// leave out and graphql-js's `printSchema` always does. async-graphql prints some of them
/// without their arguments' descriptions, so the file would contradict introspection.
fn without_built_in_directives(sdl: &str) -> String {
    let document = parse_schema(sdl).expect("async-graphql prints SDL that parses");
    let lines: Vec<&str> = sdl.lines().collect();
    // A directive definition runs from its position (its description, if any) to the line
    // that starts `directive @name`: async-graphql prints the rest of it on that one line.
    let built_in: Vec<RangeInclusive<usize>> = document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Directive(directive) => Some(directive),
            _ => None,
        })
        .filter(|directive| BUILT_IN_DIRECTIVES.contains(&directive.node.name.node.as_str()))
        .map(|directive| {
            let start = directive.pos.line - 1;
            let head = format!("directive @{}", directive.node.name.node);
            let end = (start..lines.len())
                .find(|&i| lines[i].starts_with(&head))
                .expect("a directive definition has its `directive @name` line");
            start..=end
        })
        .collect();
    let mut kept = String::with_capacity(sdl.len());
    for (i, line) in lines.iter().enumerate() {
        if !built_in.iter().any(|range| range.contains(&i)) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_directive_definitions_are_left_out_and_their_uses_kept() {
        let printed = "scalar DateTime @specifiedBy(url: \"https://example.org\")\n\
                       \"\"\"\nDirects the executor.\n\"\"\"\n\
                       directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD\n\
                       directive @custom on FIELD\n\
                       directive @skip(if: Boolean!) on FIELD\n\
                       schema {\n\tquery: Query\n}\n";
        assert_eq!(
            without_built_in_directives(printed),
            "scalar DateTime @specifiedBy(url: \"https://example.org\")\n\
             directive @custom on FIELD\n\
             schema {\n\tquery: Query\n}\n"
        );
    }
}
