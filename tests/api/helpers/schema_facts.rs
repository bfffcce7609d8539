//! A schema as a set of facts (one line per type, field, argument, enum value, directive and
//! what each says), read either from SDL or from a full introspection result, so the two can be
//! compared fact by fact and a difference names exactly what is missing or extra.

use std::collections::BTreeSet;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    ConstDirective, FieldDefinition, InputValueDefinition, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Pos, Positioned, Value as ConstValue};
use serde_json::Value;

/// Scalars every GraphQL schema has; SDL does not print them.
const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// Directives every GraphQL schema has; SDL may leave them out (if it prints one, it is compared).
const BUILT_IN_DIRECTIVES: [&str; 5] = ["include", "skip", "deprecated", "specifiedBy", "oneOf"];

/// The reason `@deprecated` gives when it names none (GraphQL spec).
const DEFAULT_DEPRECATION: &str = "No longer supported";

/// What `sdl` and a full introspection result (`data` of graphql-js's introspection query with
/// every option) disagree on, one line per fact only one of them states; empty when they agree.
pub fn differences(sdl: &str, introspection: &Value) -> Vec<String> {
    let in_file = facts_of_sdl(sdl);
    let printed_directives: BTreeSet<String> = in_file
        .iter()
        .filter_map(|fact| Some(fact.strip_prefix('@')?.split(' ').next()?.to_owned()))
        .collect();
    let introspected = facts_of_introspection(introspection, &printed_directives);
    let only_in_file = in_file
        .difference(&introspected)
        .map(|fact| format!("only in the SDL: {fact}"));
    let only_introspected = introspected
        .difference(&in_file)
        .map(|fact| format!("only in introspection: {fact}"));
    only_in_file.chain(only_introspected).collect()
}

/// Every fact the SDL states.
fn facts_of_sdl(sdl: &str) -> BTreeSet<String> {
    let document = parse_schema(sdl).unwrap_or_else(|e| panic!("the SDL parses: {e}"));
    let mut facts = Facts::default();
    // The parser has no syntax for a schema description: the file states there is none.
    facts.add("schema", "description", &None::<String>);
    for definition in document.definitions {
        match definition {
            TypeSystemDefinition::Schema(schema) => {
                let schema = schema.node;
                for (root, name) in [
                    ("query", schema.query),
                    ("mutation", schema.mutation),
                    ("subscription", schema.subscription),
                ] {
                    facts.add("schema", root, &name.map(|n| n.node.to_string()));
                }
            }
            TypeSystemDefinition::Type(ty) => {
                let ty = ty.node;
                let name = ty.name.node.to_string();
                let description = text(&ty.description);
                let specified_by = directive_argument(&ty.directives, "specifiedBy", "url");
                match ty.kind {
                    TypeKind::Scalar => {
                        facts.type_header(&name, "SCALAR", &description);
                        facts.add(&name, "specifiedBy", &specified_by);
                    }
                    TypeKind::Object(object) => {
                        facts.type_header(&name, "OBJECT", &description);
                        facts.add(&name, "implements", &names(&object.implements));
                        sdl_fields(&mut facts, &name, &object.fields);
                    }
                    TypeKind::Interface(interface) => {
                        facts.type_header(&name, "INTERFACE", &description);
                        facts.add(&name, "implements", &names(&interface.implements));
                        sdl_fields(&mut facts, &name, &interface.fields);
                    }
                    TypeKind::Union(union) => {
                        facts.type_header(&name, "UNION", &description);
                        facts.add(&name, "members", &names(&union.members));
                    }
                    TypeKind::Enum(enumeration) => {
                        facts.type_header(&name, "ENUM", &description);
                        let values: Vec<String> = enumeration
                            .values
                            .iter()
                            .map(|v| v.node.value.node.to_string())
                            .collect();
                        facts.add(&name, "values", &values);
                        for value in enumeration.values {
                            let value = value.node;
                            let at = format!("{name}.{}", value.value.node);
                            facts.add(&at, "description", &text(&value.description));
                            facts.add(&at, "deprecated", &deprecation(&value.directives));
                        }
                    }
                    TypeKind::InputObject(input) => {
                        facts.type_header(&name, "INPUT_OBJECT", &description);
                        let one_of = ty.directives.iter().any(|d| d.node.name.node == "oneOf");
                        facts.add(&name, "oneOf", &one_of);
                        sdl_input_values(&mut facts, &name, "inputFields", &input.fields);
                    }
                }
            }
            TypeSystemDefinition::Directive(directive) => {
                let repeatable = says_repeatable(sdl, directive.pos);
                let directive = directive.node;
                let at = format!("@{}", directive.name.node);
                facts.add(&at, "description", &text(&directive.description));
                facts.add(&at, "repeatable", &repeatable);
                let locations: Vec<String> = directive
                    .locations
                    .iter()
                    .map(|l| format!("{:?}", l.node))
                    .collect();
                facts.add(&at, "locations", &screaming(&locations));
                sdl_input_values(&mut facts, &at, "args", &directive.arguments);
            }
        }
    }
    facts.0
}

/// Every fact a full introspection result states, leaving out what SDL leaves out: the
/// built-in scalars, the introspection types, and the built-in directives the SDL does not print.
fn facts_of_introspection(data: &Value, printed_directives: &BTreeSet<String>) -> BTreeSet<String> {
    let schema = &data["__schema"];
    let mut facts = Facts::default();
    facts.add("schema", "description", &schema["description"].as_str());
    for root in ["query", "mutation", "subscription"] {
        let name = schema[format!("{root}Type")]["name"].as_str();
        facts.add("schema", root, &name);
    }
    for ty in array(&schema["types"]) {
        let name = string(&ty["name"]);
        if name.starts_with("__") || BUILT_IN_SCALARS.contains(&name.as_str()) {
            continue;
        }
        let kind = string(&ty["kind"]);
        facts.type_header(&name, &kind, &ty["description"].as_str().map(str::to_owned));
        match kind.as_str() {
            "SCALAR" => facts.add(&name, "specifiedBy", &ty["specifiedByURL"].as_str()),
            "OBJECT" | "INTERFACE" => {
                facts.add(&name, "implements", &ref_names(&ty["interfaces"]));
                let fields = array(&ty["fields"]);
                let order: Vec<String> = fields.iter().map(|f| string(&f["name"])).collect();
                facts.add(&name, "fields", &order);
                for field in fields {
                    let at = format!("{name}.{}", string(&field["name"]));
                    facts.add(&at, "type", &type_ref(&field["type"]));
                    facts.add(&at, "description", &field["description"].as_str());
                    facts.add(&at, "deprecated", &introspected_deprecation(field));
                    introspected_input_values(&mut facts, &at, "args", &field["args"]);
                }
            }
            "UNION" => facts.add(&name, "members", &ref_names(&ty["possibleTypes"])),
            "ENUM" => {
                let values = array(&ty["enumValues"]);
                let order: Vec<String> = values.iter().map(|v| string(&v["name"])).collect();
                facts.add(&name, "values", &order);
                for value in values {
                    let at = format!("{name}.{}", string(&value["name"]));
                    facts.add(&at, "description", &value["description"].as_str());
                    facts.add(&at, "deprecated", &introspected_deprecation(value));
                }
            }
            "INPUT_OBJECT" => {
                facts.add(&name, "oneOf", &ty["isOneOf"].as_bool().unwrap_or(false));
                introspected_input_values(&mut facts, &name, "inputFields", &ty["inputFields"]);
            }
            other => panic!("unknown kind {other} of {name}"),
        }
    }
    for directive in array(&schema["directives"]) {
        let name = string(&directive["name"]);
        if BUILT_IN_DIRECTIVES.contains(&name.as_str()) && !printed_directives.contains(&name) {
            continue;
        }
        let at = format!("@{name}");
        facts.add(&at, "description", &directive["description"].as_str());
        let repeatable = directive["isRepeatable"].as_bool();
        facts.add(
            &at,
            "repeatable",
            &repeatable.expect("isRepeatable is a boolean"),
        );
        let locations: Vec<String> = array(&directive["locations"]).iter().map(string).collect();
        facts.add(&at, "locations", &locations);
        introspected_input_values(&mut facts, &at, "args", &directive["args"]);
    }
    facts.0
}

#[derive(Default)]
struct Facts(BTreeSet<String>);

impl Facts {
    /// Records that `subject`'s `aspect` is `value` (in its debug form, so `None`, lists and
    /// strings stay distinct).
    fn add(&mut self, subject: &str, aspect: &str, value: &impl std::fmt::Debug) {
        self.0.insert(format!("{subject} {aspect}: {value:?}"));
    }

    fn type_header(&mut self, name: &str, kind: &str, description: &Option<String>) {
        self.add(name, "kind", &kind);
        self.add(name, "description", description);
    }
}

fn sdl_fields(facts: &mut Facts, owner: &str, fields: &[Positioned<FieldDefinition>]) {
    let order: Vec<String> = fields
        .iter()
        .map(|f| f.node.name.node.to_string())
        .collect();
    facts.add(owner, "fields", &order);
    for field in fields {
        let field = &field.node;
        let at = format!("{owner}.{}", field.name.node);
        facts.add(&at, "type", &field.ty.node.to_string());
        facts.add(&at, "description", &text(&field.description));
        facts.add(&at, "deprecated", &deprecation(&field.directives));
        sdl_input_values(facts, &at, "args", &field.arguments);
    }
}

fn sdl_input_values(
    facts: &mut Facts,
    owner: &str,
    what: &str,
    values: &[Positioned<InputValueDefinition>],
) {
    let order: Vec<String> = values
        .iter()
        .map(|v| v.node.name.node.to_string())
        .collect();
    facts.add(owner, what, &order);
    for value in values {
        let value = &value.node;
        let at = format!("{owner}({})", value.name.node);
        facts.add(&at, "type", &value.ty.node.to_string());
        facts.add(&at, "description", &text(&value.description));
        let default = value.default_value.as_ref().map(|d| d.node.to_string());
        facts.add(&at, "default", &default);
        facts.add(&at, "deprecated", &deprecation(&value.directives));
    }
}

fn introspected_input_values(facts: &mut Facts, owner: &str, what: &str, values: &Value) {
    let values = array(values);
    let order: Vec<String> = values.iter().map(|v| string(&v["name"])).collect();
    facts.add(owner, what, &order);
    for value in values {
        let at = format!("{owner}({})", string(&value["name"]));
        facts.add(&at, "type", &type_ref(&value["type"]));
        facts.add(&at, "description", &value["description"].as_str());
        facts.add(&at, "default", &value["defaultValue"].as_str());
        facts.add(&at, "deprecated", &introspected_deprecation(value));
    }
}

/// Whether the directive definition starting at `at` says `repeatable`, read from the text:
/// async-graphql-parser 7.0 reports every directive definition as repeatable (its optional
/// `repeatable` rule always matches).
fn says_repeatable(sdl: &str, at: Pos) -> bool {
    let from: String = sdl.lines().skip(at.line - 1).collect::<Vec<_>>().join("\n");
    let (_, rest) = from
        .split_once("directive @")
        .expect("a directive definition says `directive @`");
    let rest = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
    // Skip the arguments, whose descriptions may say anything.
    let rest = match rest.strip_prefix('(') {
        Some(arguments) => {
            let mut depth = 1;
            let end = arguments
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i + 1)
                .expect("the arguments close");
            &arguments[end..]
        }
        None => rest,
    };
    rest.split_whitespace().next() == Some("repeatable")
}

/// The deprecation reason a `@deprecated` among `directives` gives, if there is one.
fn deprecation(directives: &[Positioned<ConstDirective>]) -> Option<String> {
    let deprecated = directives
        .iter()
        .find(|d| d.node.name.node == "deprecated")?;
    Some(
        deprecated
            .node
            .get_argument("reason")
            .and_then(|reason| match &reason.node {
                ConstValue::String(reason) => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_else(|| DEFAULT_DEPRECATION.to_owned()),
    )
}

fn introspected_deprecation(item: &Value) -> Option<String> {
    if item["isDeprecated"].as_bool() == Some(true) {
        Some(
            item["deprecationReason"]
                .as_str()
                .unwrap_or(DEFAULT_DEPRECATION)
                .to_owned(),
        )
    } else {
        None
    }
}

/// The string argument `argument` of the directive `name` among `directives`.
fn directive_argument(
    directives: &[Positioned<ConstDirective>],
    name: &str,
    argument: &str,
) -> Option<String> {
    let directive = directives.iter().find(|d| d.node.name.node == name)?;
    match &directive.node.get_argument(argument)?.node {
        ConstValue::String(value) => Some(value.clone()),
        other => panic!("@{name}({argument}:) is not a string: {other}"),
    }
}

/// A type reference (`{kind, name, ofType}`) in SDL notation, e.g. `[Chat!]!`.
fn type_ref(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&ty["ofType"])),
        _ => string(&ty["name"]),
    }
}

fn ref_names(refs: &Value) -> Vec<String> {
    match refs {
        Value::Null => Vec::new(),
        refs => array(refs).iter().map(|r| string(&r["name"])).collect(),
    }
}

fn names(names: &[Positioned<async_graphql::Name>]) -> Vec<String> {
    names.iter().map(|n| n.node.to_string()).collect()
}

fn text(description: &Option<Positioned<String>>) -> Option<String> {
    description.as_ref().map(|d| d.node.clone())
}

/// The parser's directive locations (`FieldDefinition`) as introspection spells them
/// (`FIELD_DEFINITION`).
fn screaming(locations: &[String]) -> Vec<String> {
    locations
        .iter()
        .map(|location| {
            let mut spelled = String::new();
            for (i, c) in location.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    spelled.push('_');
                }
                spelled.push(c.to_ascii_uppercase());
            }
            spelled
        })
        .collect()
}

fn array(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {value}"))
}

fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}

#[test]
fn repeatable_directives_are_told_apart_whatever_their_arguments_say() {
    let at = Pos { line: 2, column: 1 };
    let plain = "type Query { a: Int }\ndirective @a(b: String) on FIELD";
    let repeatable =
        "type Query { a: Int }\ndirective @a(\"(repeatable)\" b: String) repeatable on FIELD";
    assert!(!says_repeatable(plain, at));
    assert!(says_repeatable(repeatable, at));
}
