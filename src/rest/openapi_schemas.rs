//! Rules over every schema of the OpenAPI document, applied once it is collected.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::{Components, Content, RefOr, Response};

/// Says `additionalProperties: true` on every object schema that declares no properties (the
/// free-form `metadata` and `details` objects). JSON Schema lets such an object hold any keys
/// anyway, but generators read the silence otherwise: openapi-typescript turns it into
/// `Record<string, never>`, so `metadata: {source: "web-app"}` would not type-check.
pub fn declare_free_form_objects<'a>(
    components: Option<&mut Components>,
    operations: impl Iterator<Item = &'a mut Operation>,
) {
    if let Some(components) = components {
        components.schemas.values_mut().for_each(declare_free_form);
        components.responses.values_mut().for_each(in_response);
    }
    for operation in operations {
        if let Some(body) = operation.request_body.as_mut() {
            body.content.values_mut().for_each(in_content);
        }
        operation
            .responses
            .responses
            .values_mut()
            .for_each(in_response);
        for parameter in operation.parameters.iter_mut().flatten() {
            parameter.schema.iter_mut().for_each(declare_free_form);
        }
    }
}

fn in_response(response: &mut RefOr<Response>) {
    if let RefOr::T(response) = response {
        response.content.values_mut().for_each(in_content);
    }
}

fn in_content(content: &mut Content) {
    content.schema.iter_mut().for_each(declare_free_form);
}

/// Applies the rule to `schema` and every schema inside it.
fn declare_free_form(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else {
        return;
    };
    match schema {
        Schema::Object(object) => {
            if object.properties.is_empty()
                && object.additional_properties.is_none()
                && is_object_type(&object.schema_type)
            {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            }
            object.properties.values_mut().for_each(declare_free_form);
            if let Some(additional) = object.additional_properties.as_deref_mut()
                && let AdditionalProperties::RefOr(inner) = additional
            {
                declare_free_form(inner);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                declare_free_form(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(declare_free_form),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(declare_free_form),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(declare_free_form),
        _ => {}
    }
}

/// Whether the schema's `type` is `object` (alone or with `null`).
fn is_object_type(schema_type: &SchemaType) -> bool {
    match schema_type {
        SchemaType::Type(ty) => *ty == Type::Object,
        SchemaType::Array(types) => types.contains(&Type::Object),
        _ => false,
    }
}
