//! Request bodies: the [`JsonBody`] extractor (400 fault body for non-JSON, 413 over the size
//! limit) and [`Input`], which unwraps the envelope, rejects unknown attributes and reads fields
//! with WSME's coercions (numeric strings for integers, `"true"`/`"yes"`/`1`… for booleans) and
//! WSME's error messages.

use std::net::IpAddr;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Octavia's (oslo sizelimit) maximum request body.
pub const MAX_BODY: usize = 114_688;

/// A parsed JSON request body.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        if bytes.len() > MAX_BODY {
            return Err(ApiError::PayloadTooLarge);
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::bad("Request is not in valid JSON format"))
    }
}

/// A field as sent: absent, explicit `null`, or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    Absent,
    Null,
    Set(T),
}

impl<T> Field<T> {
    /// The value if set.
    pub fn set(self) -> Option<T> {
        match self {
            Self::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the client sent the key (value or null).
    pub fn present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// Absent or null → `default`.
    pub fn or(self, default: T) -> T {
        self.set().unwrap_or(default)
    }
}

/// WSME's message for a bad field value.
pub fn invalid(key: &str, value: impl std::fmt::Display, why: &str) -> ApiError {
    ApiError::bad(format!(
        "Invalid input for field/attribute {key}. Value: '{value}'. {why}"
    ))
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The attributes of one request object, consumed field by field.
pub struct Input {
    map: Map<String, Value>,
}

impl Input {
    /// Unwrap `{"<envelope>": {...}}`, rejecting any key outside `allowed`. `arg` is WSME's
    /// argument name used in messages (e.g. `load_balancer`).
    pub fn parse(body: Value, envelope: &str, arg: &str, allowed: &[&str]) -> ApiResult<Self> {
        let Value::Object(mut outer) = body else {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute {arg}. Value: '{}'. Value not an object",
                show(&body)
            )));
        };
        if let Some(k) = outer.keys().find(|k| *k != envelope) {
            return Err(ApiError::bad(format!(
                "Unknown attribute for argument {arg}: {k}"
            )));
        }
        let inner = outer.remove(envelope).unwrap_or(Value::Object(Map::new()));
        Self::from_value(inner, &format!("{arg}.{envelope}"), allowed)
    }

    /// An already unwrapped object (e.g. one entry of a batch), checked against `allowed`.
    pub fn from_value(value: Value, arg: &str, allowed: &[&str]) -> ApiResult<Self> {
        let Value::Object(map) = value else {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute {arg}. Value: '{}'. Value not an object",
                show(&value)
            )));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad(format!(
                "Unknown attribute for argument {arg}: {k}"
            )));
        }
        Ok(Self { map })
    }

    fn take(&mut self, key: &str) -> Field<Value> {
        match self.map.remove(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Set(v),
        }
    }

    /// The raw JSON of a field.
    pub fn raw(&mut self, key: &str) -> Field<Value> {
        self.take(key)
    }

    /// A string of at most `max` characters.
    pub fn string(&mut self, key: &str, max: usize) -> ApiResult<Field<String>> {
        match self.take(key) {
            Field::Set(Value::String(s)) => {
                if s.chars().count() > max {
                    Err(invalid(
                        key,
                        &s,
                        &format!("Value should have a maximum character requirement of {max}"),
                    ))
                } else {
                    Ok(Field::Set(s))
                }
            }
            Field::Set(v) => Err(invalid(
                key,
                show(&v),
                "Wrong type. Expected 'str', got other",
            )),
            Field::Null => Ok(Field::Null),
            Field::Absent => Ok(Field::Absent),
        }
    }

    /// An integer in `min..=max`; numeric strings are accepted.
    pub fn int(&mut self, key: &str, min: i64, max: i64) -> ApiResult<Field<i64>> {
        let v = match self.take(key) {
            Field::Set(v) => v,
            Field::Null => return Ok(Field::Null),
            Field::Absent => return Ok(Field::Absent),
        };
        let n = match &v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| invalid(key, show(&v), "Wrong type. Expected 'int', got other"))?;
        if n < min {
            return Err(invalid(
                key,
                n,
                &format!("Value should be greater or equal to {min}"),
            ));
        }
        if n > max {
            return Err(invalid(
                key,
                n,
                &format!("Value should be lower or equal to {max}"),
            ));
        }
        Ok(Field::Set(n))
    }

    /// A boolean; strings `true/t/yes/y/on/1` and `false/f/no/n/off/0` and integers accepted.
    pub fn bool(&mut self, key: &str) -> ApiResult<Field<bool>> {
        match self.take(key) {
            Field::Set(v) => parse_bool(&v)
                .map(Field::Set)
                .ok_or_else(|| invalid(key, show(&v), "Wrong type. Expected 'bool', got other")),
            Field::Null => Ok(Field::Null),
            Field::Absent => Ok(Field::Absent),
        }
    }

    /// One of `allowed` (exact, as WSME's Enum).
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> ApiResult<Field<String>> {
        match self.string(key, usize::MAX)? {
            Field::Set(s) if !allowed.contains(&s.as_str()) => Err(invalid(
                key,
                &s,
                &format!("Value should be one of: {}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }

    /// A UUID (any case, dashed); stored lower-case.
    pub fn uuid(&mut self, key: &str) -> ApiResult<Field<String>> {
        match self.string(key, usize::MAX)? {
            Field::Set(s) => uuid::Uuid::parse_str(&s)
                .map(|u| Field::Set(u.hyphenated().to_string()))
                .map_err(|_| invalid(key, &s, "Value should be UUID format")),
            other => Ok(other),
        }
    }

    /// An IPv4 or IPv6 address.
    pub fn ip(&mut self, key: &str) -> ApiResult<Field<IpAddr>> {
        match self.string(key, usize::MAX)? {
            Field::Set(s) => s
                .parse::<IpAddr>()
                .map(Field::Set)
                .map_err(|_| invalid(key, &s, "Value should be IPv4 or IPv6 format")),
            Field::Null => Ok(Field::Null),
            Field::Absent => Ok(Field::Absent),
        }
    }

    /// A list of strings, each at most `max` characters.
    pub fn strings(&mut self, key: &str, max: usize) -> ApiResult<Field<Vec<String>>> {
        match self.take(key) {
            Field::Set(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) if s.chars().count() <= max => Ok(s),
                    other => Err(invalid(
                        key,
                        show(&other),
                        "Value should be a list of strings",
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Field::Set),
            Field::Set(v) => Err(invalid(key, show(&v), "Value should be a list")),
            Field::Null => Ok(Field::Null),
            Field::Absent => Ok(Field::Absent),
        }
    }

    /// `project_id`, or its alias `tenant_id`.
    pub fn project(&mut self) -> ApiResult<Option<String>> {
        let p = self.string("project_id", 36)?.set();
        let t = self.string("tenant_id", 36)?.set();
        Ok(p.or(t))
    }
}

/// Mandatory field: absent or null → WSME's "Mandatory field missing." 400.
pub fn required<T>(key: &str, field: Field<T>) -> ApiResult<T> {
    field
        .set()
        .ok_or_else(|| invalid(key, "None", "Mandatory field missing."))
}

/// oslo `bool_from_string` over JSON values (strict).
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().and_then(|i| match i {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        Value::String(s) => parse_bool_str(s),
        _ => None,
    }
}

/// oslo `bool_from_string` on a string (strict).
pub fn parse_bool_str(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(v: Value) -> Input {
        Input::parse(json!({ "x": v }), "x", "arg", &["a", "b", "c"]).unwrap()
    }

    #[test]
    fn coercions_follow_wsme() {
        let mut i = input(json!({"a": "100", "b": "yes", "c": 5}));
        assert_eq!(i.int("a", -1, 1000).unwrap(), Field::Set(100));
        assert_eq!(i.bool("b").unwrap(), Field::Set(true));
        assert!(i.bool("c").is_err());
        assert_eq!(i.int("zzz", 0, 1).unwrap(), Field::Absent);
        let mut i = input(json!({"a": null, "b": 300}));
        assert_eq!(i.int("a", 0, 1).unwrap(), Field::Null);
        let e = i.int("b", 0, 256).unwrap_err().to_string();
        assert_eq!(
            e,
            "Invalid input for field/attribute b. Value: '300'. Value should be lower or equal to 256"
        );
    }

    #[test]
    fn unknown_attributes_and_envelopes_are_rejected() {
        let e = Input::parse(json!({"x": {"foo": 1}}), "x", "arg", &["a"])
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "Unknown attribute for argument arg.x: foo");
        let e = Input::parse(json!({"a": 1}), "x", "arg", &["a"])
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "Unknown attribute for argument arg: a");
    }
}
