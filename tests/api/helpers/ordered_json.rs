//! JSON read with every object's keys in the order the text has them, to check what clients
//! see on the wire (`serde_json::Value` sorts keys, so it cannot tell).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their keys in text order.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderedJson {
    Object(Vec<(String, OrderedJson)>),
    Array(Vec<OrderedJson>),
    Scalar(serde_json::Value),
}

impl OrderedJson {
    /// Parses `text`, failing the test when it is not JSON.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// The value at `path`: object keys, or array indexes written as numbers.
    pub fn at(&self, path: &[&str]) -> &Self {
        path.iter().fold(self, |value, step| match value {
            Self::Object(entries) => entries
                .iter()
                .find(|(key, _)| key == step)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {step} in {value:?}")),
            Self::Array(items) => step
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .unwrap_or_else(|| panic!("no item {step} in {value:?}")),
            Self::Scalar(_) => panic!("cannot step into {value:?} with {step}"),
        })
    }

    /// The keys of the object at `path`, in text order.
    pub fn keys_at(&self, path: &[&str]) -> Vec<&str> {
        match self.at(path) {
            Self::Object(entries) => entries.iter().map(|(key, _)| key.as_str()).collect(),
            other => panic!("{path:?} is not an object: {other:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for OrderedJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = OrderedJson;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(v.into()))
    }

    fn visit_unit<E>(self) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(serde_json::Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OrderedJson, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(OrderedJson::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedJson, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, OrderedJson>()? {
            entries.push(entry);
        }
        Ok(OrderedJson::Object(entries))
    }
}
