//! Our own `DateTime` scalar (async-graphql's chrono one renders `+00:00` and nanoseconds) and
//! the GraphQL mirrors of the domain enums.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::domain::{self, Timestamp};
use crate::events::ChatEventKind as DomainChatEventKind;

/// A record's id as a GraphQL `ID`: its hyphenated lower-case text, allocated once at its
/// size (`to_string` would grow a string through `fmt`).
pub(super) fn id(uuid: uuid::Uuid) -> async_graphql::ID {
    let mut buffer = uuid::Uuid::encode_buffer();
    async_graphql::ID(uuid.hyphenated().encode_lower(&mut buffer).to_owned())
}

/// RFC 3339 instant in UTC with milliseconds, e.g. `2025-10-04T12:00:00.000Z`.
pub struct DateTime(pub Timestamp);

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Timestamp::parse(s)
                .map(DateTime)
                .ok_or_else(|| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

/// Declares a GraphQL enum mirroring a domain enum, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident => $domain:path { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $name::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// How important a chat session is.
    Priority => domain::Priority { Low, Medium, High }
);
mirror_enum!(
    /// Who wrote a message.
    Role => domain::Role { User, Assistant }
);
mirror_enum!(
    /// Sort direction by creation time.
    SortOrder => domain::SortOrder { Asc, Desc }
);
mirror_enum!(
    /// What happened to a chat.
    ChatEventKind => DomainChatEventKind { Created, Updated, Deleted }
);
