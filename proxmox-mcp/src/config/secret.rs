//! Secrets as types: they print as `****` and are only read through [`Secret::expose`].

use std::fmt;

/// A credential (token secret, password, ticket). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the one place that must send it (an HTTP header or form body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        assert_eq!(format!("{s}"), "****");
        assert!(!format!("{s:?}").contains("aaaa"));
        assert_eq!(s.expose(), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    }
}
