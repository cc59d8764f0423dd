//! Reading admin JSON bodies field by field, so every validation error names the
//! field (serde's own messages say "at line 1 column 25", which helps nobody).

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON object body whose keys were checked against the allowed ones.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Accepts an object with only `allowed` keys.
    pub fn new(body: Value, allowed: &[&str]) -> Result<Self, ApiError> {
        let Value::Object(map) = body else {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::BadRequest(format!(
                "unknown field {unknown} (expected one of: {})",
                allowed.join(", ")
            )));
        }
        Ok(Self(map))
    }

    /// The raw value, when present (null included).
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string field.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(name, "must be a string")),
        }
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    /// A whole number in `0..=max`.
    pub fn count(&self, name: &str, max: u32) -> Result<Option<u32>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= max)
                .map(Some)
                .ok_or_else(|| invalid(name, &format!("must be a whole number from 0 to {max}"))),
        }
    }
}

/// A 400 naming `field`.
pub fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}
