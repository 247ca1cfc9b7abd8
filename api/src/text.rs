//! Strings in request bodies. poem-openapi's `String` also takes JSON numbers and booleans
//! (`{"jail":5}` would read as `"5"`); these types take a JSON string and nothing else,
//! and each carries the schema the server enforces (pattern, length), so the OpenAPI
//! document promises exactly what is checked. The checks themselves stay in
//! `crate::validate` and the domain types, which answer with a specific `error_code`
//! (`invalid_jail_name`, `invalid_ip`, …) rather than a generic parse error.

use std::borrow::Cow;
use std::ops::Deref;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

/// NUL is refused in every string: PostgreSQL cannot store it, fail2ban's protocol
/// must not carry it, and no field has a use for it.
fn no_nul(s: String) -> ParseResult<String> {
    if s.contains('\0') {
        Err(ParseError::custom("NUL characters are not accepted"))
    } else {
        Ok(s)
    }
}

/// The pattern of a string without NUL.
const NO_NUL: &str = r"^[^\u0000]*$";

/// The schema a text type documents.
trait TextSchema {
    fn describe(schema: &mut MetaSchema);
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, |$s:ident| $describe:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name(pub String);

        impl TextSchema for $name {
            fn describe($s: &mut MetaSchema) $describe
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let mut schema = MetaSchema::new("string");
                <Self as TextSchema>::describe(&mut schema);
                MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }

            fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value.unwrap_or_default() {
                    Value::String(s) => no_nul(s).map(Self).map_err(ParseError::propagate),
                    other => Err(ParseError::expected_type(other)),
                }
            }
        }

        // As a query or path parameter: any text, judged by the handler.
        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                no_nul(value.to_owned())
                    .map(Self)
                    .map_err(ParseError::propagate)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

text_type!(
    /// Any JSON string without NUL.
    Text,
    |s| {
        s.pattern = Some(NO_NUL.into());
    }
);

text_type!(
    /// The start of an IP address to search for (`10.1.`, `2001:db8:`), up to 64
    /// characters; spaces around it are ignored (refused with `invalid_ip_search`
    /// otherwise).
    IpPrefixText,
    |s| {
        s.pattern = Some(r"^ *[0-9A-Fa-f:.]* *$".into());
        s.max_length = Some(64);
    }
);

text_type!(
    /// A jail name as `shared::domain::JailName` takes it (refused with
    /// `invalid_jail_name` otherwise).
    JailText,
    |s| {
        s.pattern = Some(r"^[A-Za-z0-9._@][A-Za-z0-9._@-]{0,63}$".into());
        s.min_length = Some(1);
        s.max_length = Some(64);
    }
);

text_type!(
    /// A jail to filter by (as [`JailText`]); empty means every jail.
    JailFilter,
    |s| {
        s.pattern = Some(r"^([A-Za-z0-9._@][A-Za-z0-9._@-]{0,63})?$".into());
        s.max_length = Some(64);
    }
);

text_type!(
    /// An IPv4/IPv6 address or CIDR network as `shared::domain::IpOrNet` reads it
    /// (refused with `invalid_ip` and friends otherwise).
    IpText,
    |s| {
        s.pattern = Some(r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$".into());
        s.min_length = Some(2);
        s.max_length = Some(49);
    }
);

text_type!(
    /// How long to wait for a command (`?wait=`): a duration such as `5s` or `500ms`, at
    /// most 10 s (refused with `invalid_wait` otherwise); empty means do not wait.
    WaitText,
    |s| {
        s.pattern = Some(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h)?)?$".into());
        s.max_length = Some(16);
    }
);

text_type!(
    /// A range preset (refused with `invalid_range` where it does not apply: `all` is
    /// for the history only).
    RangeText,
    |s| {
        s.pattern = Some(r"^(24h|7d|30d|365d|all)$".into());
    }
);

text_type!(
    /// An RFC 3339 time (refused with `invalid_range` otherwise).
    TimeText,
    |s| {
        s.format = Some("date-time");
    }
);

text_type!(
    /// An ISO 3166 alpha-2 country code, or `unknown` for addresses without one
    /// (refused with `invalid_country` when it names no country); empty means any.
    CountryText,
    |s| {
        s.pattern = Some(r"^([A-Za-z]{2}|unknown)?$".into());
    }
);

text_type!(
    /// An IANA time zone such as `Europe/Berlin` (refused with `invalid_timezone` when
    /// unknown); empty means the instance's zone.
    ZoneText,
    |s| {
        s.pattern = Some(r"^([A-Za-z][A-Za-z0-9_+/-]{0,63})?$".into());
    }
);

text_type!(
    /// A username as `shared::domain::Username` takes it.
    UsernameText,
    |s| {
        s.pattern = Some(r"^[A-Za-z0-9._@-]{1,64}$".into());
        s.min_length = Some(1);
        s.max_length = Some(64);
    }
);

text_type!(
    /// A new password: at least 12 characters (see the password policy).
    PasswordText,
    |s| {
        s.min_length = Some(12);
        s.max_length = Some(1024);
        s.format = Some("password");
        s.pattern = Some(NO_NUL.into());
    }
);

/// A list of addresses or networks: 1 to [`crate::validate::MAX_IPS`] entries (refused
/// with `invalid_ip` when empty and `too_many_ips` when longer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpList(pub Vec<IpText>);

impl Type for IpList {
    const IS_REQUIRED: bool = true;
    type RawValueType = Vec<IpText>;
    type RawElementValueType = IpText;

    fn name() -> Cow<'static, str> {
        "[string]".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("array");
        schema.items = Some(Box::new(IpText::schema_ref()));
        schema.min_items = Some(1);
        schema.max_items = Some(crate::validate::MAX_IPS);
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        IpText::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Vec<IpText>> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a IpText> + 'a> {
        Box::new(self.0.iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for IpList {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::Array(items) => items
                .into_iter()
                .map(|v| IpText::parse_from_json(Some(v)).map_err(ParseError::propagate))
                .collect::<Result<Vec<_>, _>>()
                .map(IpList),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for IpList {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Array(
            self.0
                .iter()
                .map(|ip| Value::String(ip.0.clone()))
                .collect(),
        ))
    }
}

impl Deref for IpList {
    type Target = [IpText];
    fn deref(&self) -> &[IpText] {
        &self.0
    }
}

impl<const N: usize> From<[&str; N]> for IpList {
    fn from(ips: [&str; N]) -> Self {
        Self(ips.iter().map(|ip| IpText::from(*ip)).collect())
    }
}
