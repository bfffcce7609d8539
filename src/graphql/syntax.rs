//! One-line syntax errors. The parser (pest) describes a syntax error as a multi-line drawing
//! of the document with a caret and its grammar's rule names (` --> 1:15 … = expected
//! selection`); GraphiQL and client error toasts show the message as it is. This turns it into
//! `Syntax error at 1:15: expected a field or fragment, found the end of the document`.

use async_graphql::ServerError;

/// Rewrites the message of a syntax error from the parser into one line saying where, what
/// was expected and what was found; `locations` stay. Any other error is left as it is.
pub fn make_readable(query: &str, error: &mut ServerError) {
    if !error.message.starts_with(" --> ") {
        return;
    }
    let Some(at) = error.locations.first().copied() else {
        return;
    };
    let found = found_at(query, at.line, at.column);
    let explained = error
        .message
        .lines()
        .rev()
        .find_map(|line| line.trim_start().strip_prefix("= "))
        .and_then(explain);
    error.message = match explained {
        Some(explained) => format!(
            "Syntax error at {}:{}: {explained}, found {found}",
            at.line, at.column
        ),
        None => format!(
            "Syntax error at {}:{}: unexpected {found}",
            at.line, at.column
        ),
    };
}

/// The parser's `expected a, b, or c` / `unexpected x; expected y` / `unexpected x` in words.
fn explain(parser_says: &str) -> Option<String> {
    let (unexpected, expected) = match parser_says.split_once("; ") {
        Some((unexpected, expected)) => (unexpected.strip_prefix("unexpected "), Some(expected)),
        None => (
            parser_says.strip_prefix("unexpected "),
            Some(parser_says).filter(|s| s.starts_with("expected ")),
        ),
    };
    let expected = expected
        .and_then(|e| e.strip_prefix("expected "))
        .map(rules);
    let unexpected = unexpected.map(rules);
    match (unexpected, expected) {
        (Some(unexpected), Some(expected)) => {
            Some(format!("unexpected {unexpected}; expected {expected}"))
        }
        (Some(unexpected), None) => Some(format!("unexpected {unexpected}")),
        (None, Some(expected)) => Some(format!("expected {expected}")),
        (None, None) => None,
    }
}

/// A list of rule names as the parser joins them (`a`, `a or b`, `a, b, or c`), in words.
fn rules(list: &str) -> String {
    let mut phrases: Vec<&str> = Vec::new();
    for rule in list
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|rule| rule.trim().trim_start_matches("or "))
        .filter(|rule| !rule.is_empty())
    {
        let phrase = phrase(rule);
        if !phrases.contains(&phrase) {
            phrases.push(phrase);
        }
    }
    match phrases.as_slice() {
        [] => "something else".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What a grammar rule of the executable document stands for.
fn phrase(rule: &str) -> &'static str {
    match rule {
        "EOI" => "the end of the document",
        "executable_definition" => "an operation or fragment",
        "operation_definition" | "named_operation_definition" => "an operation",
        "operation_type" => "`query`, `mutation` or `subscription`",
        "fragment_definition" => "a fragment definition",
        "selection_set" => "a selection set",
        "selection" => "a field or fragment",
        "field" => "a field",
        "alias" => "an alias",
        "fragment_spread" => "a fragment spread",
        "inline_fragment" => "an inline fragment",
        "type_condition" => "a type condition (`on Type`)",
        "variable_definitions" => "variable definitions",
        "variable_definition" => "a variable definition",
        "default_value" => "a default value",
        "variable" => "a variable",
        "type_" => "a type",
        "value" | "const_value" => "a value",
        "number" | "int" | "float" | "fractional" | "exponent" => "a number",
        "string" | "block_string_content" | "string_content" => "a string",
        "boolean" => "a boolean",
        "null" => "null",
        "enum_value" => "an enum value",
        "list" | "const_list" => "a list",
        "object" | "const_object" => "an input object",
        "object_field" | "const_object_field" => "an input object field",
        "directives" | "directive" | "const_directives" | "const_directive" => "a directive",
        "arguments" | "const_arguments" => "arguments",
        "argument" | "const_argument" => "an argument",
        "name" | "name_start" => "a name",
        _ => "something else",
    }
}

/// What the document holds at `line`:`column` (1-based, in characters), ignoring white space
/// and commas: a name or number, a string, `...`, one punctuation character, or the end of
/// the document.
fn found_at(query: &str, line: usize, column: usize) -> String {
    let rest: String = query
        .lines()
        .skip(line.saturating_sub(1))
        .enumerate()
        .flat_map(|(i, text)| {
            let skip = if i == 0 { column.saturating_sub(1) } else { 0 };
            text.chars().skip(skip).chain(std::iter::once('\n'))
        })
        .collect();
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '\u{feff}');
    let Some(first) = rest.chars().next() else {
        return "the end of the document".to_owned();
    };
    if rest.starts_with("...") {
        return "`...`".to_owned();
    }
    if first.is_alphanumeric() || first == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .take(40)
            .collect();
        return format!("`{word}`");
    }
    if first == '"' {
        let line = rest.lines().next().unwrap_or_default();
        let closed = line.starts_with("\"\"\"") || line[1..].contains('"');
        return if closed {
            "a string"
        } else {
            "an unterminated string"
        }
        .to_owned();
    }
    format!("`{first}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(query: &str) -> String {
        let error = async_graphql::parser::parse_query(query).expect_err("does not parse");
        let at = error
            .positions()
            .next()
            .expect("a syntax error has a position");
        let mut error = ServerError::new(error.to_string(), Some(at));
        make_readable(query, &mut error);
        error.message
    }

    #[test]
    fn syntax_errors_say_where_what_was_expected_and_what_was_found() {
        for (query, message) in [
            (
                "{ chats { id }",
                "Syntax error at 1:15: expected a field or fragment, found the end of the document",
            ),
            (
                "{ chats(limit: ) { total } }",
                "Syntax error at 1:16: expected a value, found `)`",
            ),
            (
                "{ chats { id } } }",
                "Syntax error at 1:18: expected the end of the document or an operation or \
                 fragment, found `}`",
            ),
            (
                "query { chats { id } } extra",
                "Syntax error at 1:24: expected the end of the document or an operation or \
                 fragment, found `extra`",
            ),
            (
                "",
                "Syntax error at 1:1: expected an operation or fragment, found the end of the \
                 document",
            ),
            (
                "query Q($a: ) { x }",
                "Syntax error at 1:13: expected a type, found `)`",
            ),
            (
                "{ a(b: \"unterminated) }",
                "Syntax error at 1:8: expected a value, found an unterminated string",
            ),
            (
                "{ ... }",
                "Syntax error at 1:7: expected a selection set, a type condition (`on Type`), \
                 a directive or a name, found `}`",
            ),
            (
                "{ a @ }\n\n",
                "Syntax error at 1:7: expected a name, found `}`",
            ),
            (
                "{ a }\n{\n",
                "Syntax error at 3:1: expected a field or fragment, found the end of the document",
            ),
            (
                "{\n  chats {\n    id\n  }\n  é: chats { id }\n",
                "Syntax error at 5:3: expected a field or fragment, found `é`",
            ),
        ] {
            assert_eq!(readable(query), message, "{query:?}");
        }
    }

    #[test]
    fn other_errors_keep_their_message() {
        let mut error = ServerError::new("document contains multiple operations", None);
        make_readable("{ a } { b }", &mut error);
        assert_eq!(error.message, "document contains multiple operations");
    }
}
