//! Whole numbers in request bodies, also when a client writes them `30.0`: JSON has one
//! number type, and JSON Schema's `integer` admits `30.0`, so a document that says
//! `integer` must take it. Fractions, non-finite values and numbers outside `i64` are
//! refused. Use with `#[serde(deserialize_with = "crate::whole::int")]` (or `opt_int`
//! with `#[serde(default)]` for optional fields).

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

struct Whole;

impl Visitor<'_> for Whole {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // Only where a double holds every integer exactly (|v| ≤ 2^53): past that, a
        // literal such as -9223372036854775809 (read as a double because it does not fit
        // an i64) would round into range and be taken for another number.
        let fits = v.is_finite() && v.fract() == 0.0 && v.abs() <= 2f64.powi(53);
        if fits {
            Ok(v as i64)
        } else {
            Err(E::custom(format!("{v} is not a whole number in range")))
        }
    }
}

/// Asks for an `i64`, as a plain field would: serde_json then hands over whatever number
/// the text holds (so `30.0` reaches [`Whole::visit_f64`]) and refuses strings, while
/// URL-encoded forms (the UI's server functions) still parse their text as an integer.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_i64(Whole)
}

struct MaybeWhole;

impl<'de> Visitor<'de> for MaybeWhole {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
        int(d).map(Some)
    }
}

pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(MaybeWhole)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::int")]
        n: i64,
        #[serde(default, deserialize_with = "super::opt_int")]
        m: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_in_any_spelling_and_nothing_else() {
        assert_eq!(parse(r#"{"n": 30}"#), Ok(Body { n: 30, m: None }));
        assert_eq!(
            parse(r#"{"n": 30.0, "m": -2.0}"#),
            Ok(Body { n: 30, m: Some(-2) })
        );
        assert_eq!(
            parse(r#"{"n": 1e3, "m": null}"#),
            Ok(Body { n: 1000, m: None })
        );
        assert_eq!(
            parse(r#"{"n": -9223372036854775808}"#).map(|b| b.n),
            Ok(i64::MIN)
        );
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": "3"}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"n": 1e19}"#,
            r#"{"n": -9223372036854775809}"#,
            r#"{"n": 9007199254740994.0}"#,
            r#"{"n": true}"#,
            r#"{"n": 1, "m": 0.25}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
