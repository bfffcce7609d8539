//! Bounds on the work one GraphQL document can cause, checked before validation builds a single
//! error, and on the size of any one answer.
//!
//! Validation reports every problem it finds, so without these a document under the body limit
//! could ask for hundreds of thousands of errors (`{ chats(a0:1 a1:1 … a99999:1) { total } }`
//! answers 17 MB). The request pipeline (`super::pipeline`) refuses, with one `GRAPHQL_VALIDATION_FAILED` error:
//! - before parsing, a document of more than [`MAX_TOKENS`] tokens (a cheap scan; in the spirit
//!   of Apollo Router's `parser_max_tokens`);
//! - after parsing, a document with more than [`MAX_ARGUMENTS`] arguments, [`MAX_ALIASES`]
//!   aliases or [`MAX_VARIABLES`] variable definitions in all.
//!
//! Whatever passes, a response lists at most [`MAX_ERRORS`] errors and then one more that says
//! how many were left out, over HTTP and WebSocket alike.

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Pos, Positioned, ServerError, ServerResult};

use super::errors::set_code;
use crate::error::ErrorCode;

/// Most lexical tokens (names, punctuators, numbers, strings) a document may hold, as Apollo
/// Router's default. graphql-js's introspection query with every option on has 184.
pub const MAX_TOKENS: usize = 15_000;

/// Most arguments (of fields and directives together) a document may hold.
pub const MAX_ARGUMENTS: usize = 500;

/// Most aliased fields a document may hold.
pub const MAX_ALIASES: usize = 500;

/// Most variable definitions a document may hold, all operations together.
pub const MAX_VARIABLES: usize = 100;

/// Most errors one response lists; the rest are counted in one final error.
pub const MAX_ERRORS: usize = 100;

/// Refuses, before it is parsed, a document of more than [`MAX_TOKENS`] tokens.
pub(super) fn check_tokens(query: &str) -> ServerResult<()> {
    if count_tokens(query, MAX_TOKENS) > MAX_TOKENS {
        return Err(refusal(
            format!("Query is too large: more than {MAX_TOKENS} tokens."),
            None,
        ));
    }
    Ok(())
}

/// A refusal by one of the limits: a request error with `GRAPHQL_VALIDATION_FAILED`.
fn refusal(message: String, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    set_code(&mut error, ErrorCode::GraphqlValidationFailed);
    error
}

/// Keeps the first [`MAX_ERRORS`] errors and adds one saying how many more there were; it
/// carries the code of the first one left out.
pub(super) fn cap_errors(errors: &mut Vec<ServerError>) {
    if errors.len() <= MAX_ERRORS {
        return;
    }
    let omitted = errors.len() - MAX_ERRORS;
    let code = errors[MAX_ERRORS]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    errors.truncate(MAX_ERRORS);
    let mut summary = ServerError::new(
        format!("{omitted} more errors were left out; a response lists at most {MAX_ERRORS}."),
        None,
    );
    if let Some(code) = code {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        summary.extensions = Some(extensions);
    }
    errors.push(summary);
}

/// The document's lexical tokens, counted up to one past `limit` (the scan stops there). The
/// count follows GraphQL's lexical grammar loosely: it only has to be cheap and never lower
/// than what the parser will see; the parser judges the syntax.
fn count_tokens(source: &str, limit: usize) -> usize {
    let bytes = source.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() && count <= limit {
        let byte = bytes[i];
        match byte {
            // Ignored tokens: white space, line terminators, commas (and a byte-order mark's bytes).
            b' ' | b'\t' | b'\n' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = skip_block_string(bytes, i + 3),
            b'"' => i = skip_string(bytes, i + 1),
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                i += 1;
                while i < bytes.len() && is_name_continue(bytes[i]) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => i = skip_number(bytes, i + 1),
            _ => i += 1,
        }
        count += 1;
    }
    count
}

fn is_name_continue(byte: u8) -> bool {
    matches!(byte, b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
}

/// The index just past the number whose first character is just before `i`: digits, then an
/// optional fraction and exponent.
fn skip_number(bytes: &[u8], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    i = digits(i);
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}

/// The index just past the string whose body starts at `i` (or the end of its line).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the block string whose body starts at `i`.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// How many of each counted thing a document holds, and where each limit was first passed.
#[derive(Default)]
struct Counts {
    arguments: usize,
    aliases: usize,
    first_argument_over: Option<Pos>,
    first_alias_over: Option<Pos>,
}

impl Counts {
    fn arguments<N, V>(&mut self, arguments: &[(Positioned<N>, Positioned<V>)]) {
        for (name, _) in arguments {
            self.arguments += 1;
            if self.arguments == MAX_ARGUMENTS + 1 {
                self.first_argument_over = Some(name.pos);
            }
        }
    }

    fn directives(&mut self, directives: &[Positioned<Directive>]) {
        for directive in directives {
            self.arguments(&directive.node.arguments);
        }
    }

    fn selection_set(&mut self, set: &SelectionSet) {
        let mut pending: Vec<&SelectionSet> = vec![set];
        while let Some(set) = pending.pop() {
            for selection in &set.items {
                match &selection.node {
                    Selection::Field(field) => {
                        let field = &field.node;
                        if let Some(alias) = &field.alias {
                            self.aliases += 1;
                            if self.aliases == MAX_ALIASES + 1 {
                                self.first_alias_over = Some(alias.pos);
                            }
                        }
                        self.arguments(&field.arguments);
                        self.directives(&field.directives);
                        pending.push(&field.selection_set.node);
                    }
                    Selection::FragmentSpread(spread) => self.directives(&spread.node.directives),
                    Selection::InlineFragment(inline) => {
                        self.directives(&inline.node.directives);
                        pending.push(&inline.node.selection_set.node);
                    }
                }
            }
        }
    }
}

/// Refuses a parsed document with too many arguments, aliases or variable definitions.
pub(super) fn check_counts(document: &ExecutableDocument) -> ServerResult<()> {
    let mut counts = Counts::default();
    let mut variables = 0;
    let mut first_variable_over = None;
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    for operation in operations {
        let operation = &operation.node;
        for definition in &operation.variable_definitions {
            variables += 1;
            if variables == MAX_VARIABLES + 1 {
                first_variable_over = Some(definition.pos);
            }
            counts.directives(&definition.node.directives);
        }
        counts.directives(&operation.directives);
        counts.selection_set(&operation.selection_set.node);
    }
    for fragment in document.fragments.values() {
        counts.directives(&fragment.node.directives);
        counts.selection_set(&fragment.node.selection_set.node);
    }
    let too_many = |what: &str, count: usize, max: usize, pos: Option<Pos>| {
        Err(refusal(
            format!("Query has too many {what}: {count}, at most {max} are allowed."),
            pos,
        ))
    };
    if variables > MAX_VARIABLES {
        return too_many(
            "variable definitions",
            variables,
            MAX_VARIABLES,
            first_variable_over,
        );
    }
    if counts.aliases > MAX_ALIASES {
        return too_many(
            "aliases",
            counts.aliases,
            MAX_ALIASES,
            counts.first_alias_over,
        );
    }
    if counts.arguments > MAX_ARGUMENTS {
        return too_many(
            "arguments",
            counts.arguments,
            MAX_ARGUMENTS,
            counts.first_argument_over,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_names_punctuators_numbers_and_strings_not_commas_or_comments() {
        assert_eq!(count_tokens("{ chats { total } }", 100), 6);
        assert_eq!(
            count_tokens("query($a: Int = -1.5e3, $b: [ID!]) { x }", 100),
            19
        );
        assert_eq!(count_tokens("{ a...F b(x: 1.5) }", 100), 11);
        assert_eq!(
            count_tokens("# a comment, with { braces }\n{ a(s: \"x, } y\") }", 100),
            8
        );
        assert_eq!(
            count_tokens("{ a(s: \"\"\"block \\\"\"\" } \"\"\") ...F }", 100),
            10
        );
        assert_eq!(count_tokens(",,, \u{feff} ", 100), 0);
    }

    #[test]
    fn graphiqls_introspection_query_is_far_below_the_token_limit() {
        let query =
            include_str!("../../tests/api/fixtures/graphql-js-introspection-all-options.graphql");
        assert_eq!(count_tokens(query, MAX_TOKENS), 184);
    }

    #[test]
    fn counting_stops_one_past_the_limit() {
        let huge = "a ".repeat(1_000_000);
        assert_eq!(count_tokens(&huge, 10), 11);
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        assert_eq!(count_tokens("{ a(s: \"open\n) }", 100), 8);
    }

    fn errors(n: usize) -> Vec<ServerError> {
        (0..n)
            .map(|i| {
                let mut e = ServerError::new(format!("e{i}"), None);
                set_code(&mut e, ErrorCode::GraphqlValidationFailed);
                e
            })
            .collect()
    }

    #[test]
    fn a_response_keeps_100_errors_and_says_how_many_more_there_were() {
        let mut exactly = errors(MAX_ERRORS);
        cap_errors(&mut exactly);
        assert_eq!(exactly.len(), MAX_ERRORS);

        let mut many = errors(MAX_ERRORS + 25);
        cap_errors(&mut many);
        assert_eq!(many.len(), MAX_ERRORS + 1);
        assert_eq!(many[MAX_ERRORS - 1].message, "e99");
        let summary = &many[MAX_ERRORS];
        assert_eq!(
            summary.message,
            "25 more errors were left out; a response lists at most 100."
        );
        assert_eq!(
            summary.extensions.as_ref().and_then(|e| e.get("code")),
            Some(&async_graphql::Value::from("GRAPHQL_VALIDATION_FAILED"))
        );
    }
}
