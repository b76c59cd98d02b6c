//! Typed figure parameters: every figure declares a `serde` struct (with
//! `deny_unknown_fields`) whose `Default` — or, for the figures a teacher edits, the
//! file `data/figures/<id>.json` — holds its defaults in one place. This module turns
//! such a struct into the JSON object that is stamped and shown, applies a notebook's
//! overrides to it, and reads it back, with every bad key or value reported as one
//! line naming the key and the figure.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What a figure's parameter struct must be: JSON in and out.
pub trait Params: Serialize + DeserializeOwned + 'static {}
impl<T: Serialize + DeserializeOwned + 'static> Params for T {}

/// No parameters at all (cards, fixed schematics): `{}`, and any key is refused.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `data/figures/<id>.json`: the word lists, sentences and prompts of a figure, which a
/// teacher may edit.
pub fn data_path(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("figures")
        .join(format!("{id}.json"))
}

/// Where a figure's parameters come from, for messages: "figure `<id>`", or
/// "data/figures/<id>.json (figure `<id>`)" for a figure whose defaults are in a file.
pub(crate) fn origin(id: &str, data_file: bool) -> String {
    if data_file {
        format!("data/figures/{id}.json (figure `{id}`)")
    } else {
        format!("figure `{id}`")
    }
}

/// Keys of a data file that are notes for its reader, not parameters: `about` and
/// every key ending in `_help`.
fn is_note(key: &str) -> bool {
    key == "about" || key.ends_with("_help")
}

/// The parameters in `data/figures/<id>.json`, notes removed. Read at every call, so
/// an edit to the file makes the figure stale.
pub(crate) fn read_data_file(id: &str) -> Result<Map<String, Value>> {
    let path = data_path(id);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::BadData {
        path: path.clone(),
        msg: format!("not valid JSON ({e}); fix the file"),
    })?;
    match value {
        Value::Object(mut o) => {
            o.retain(|k, _| !is_note(k));
            Ok(o)
        }
        _ => Err(Error::BadData {
            path,
            msg: "must hold a JSON object".into(),
        }),
    }
}

/// The parameters as the JSON object that is stamped, shown and overridden.
pub(crate) fn to_object<P: Params>(id: &str, p: &P) -> Result<Map<String, Value>> {
    match serde_json::to_value(p) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(Error::BadParameters {
            figure: id.into(),
            msg: format!("parameters must form a JSON object, not {other}"),
        }),
        Err(e) => Err(Error::BadParameters {
            figure: id.into(),
            msg: e.to_string(),
        }),
    }
}

/// Reads a JSON object into the figure's parameter struct; a mistyped value names its
/// key (and, inside a list, its place), an unknown or missing key names itself.
pub(crate) fn parse<P: Params>(origin: &str, obj: Map<String, Value>) -> Result<P> {
    serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| {
        let key = e.path().to_string();
        let msg = e.into_inner().to_string();
        if key.is_empty() || key == "." || key == "?" {
            Error::FigureInput {
                origin: origin.into(),
                msg,
            }
        } else {
            Error::BadParameter {
                origin: origin.into(),
                key,
                msg,
            }
        }
    })
}

/// The declared parameters with the keys of `overrides` (a JSON object, or `null`)
/// replaced; a key the figure does not have is an error listing the ones it has.
pub(crate) fn apply_overrides(
    id: &str,
    mut params: Map<String, Value>,
    overrides: Value,
) -> Result<Map<String, Value>> {
    match overrides {
        Value::Null => {}
        Value::Object(o) => {
            for (k, v) in o {
                if !params.contains_key(&k) {
                    let known = params.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>();
                    let known = if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    };
                    return Err(Error::UnknownParameter {
                        figure: id.into(),
                        key: k,
                        known,
                    });
                }
                params.insert(k, v);
            }
        }
        other => {
            return Err(Error::BadParameters {
                figure: id.into(),
                msg: format!("overrides must be a JSON object, not {other}"),
            })
        }
    }
    Ok(params)
}

/// A caption with every `{key}` replaced by that parameter's value (strings without
/// their quotes, lists as `a, b, c`), so that a caption cannot contradict the
/// parameters it was made with.
pub fn fill(template: &str, params: &Map<String, Value>) -> String {
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else { break };
        let key = &rest[open + 1..open + len];
        out += &rest[..open];
        match params.get(key) {
            Some(v) => out += &show(v),
            None => out += &rest[open..=open + len],
        }
        rest = &rest[open + len + 1..];
    }
    out + rest
}

/// Every `{key}` of a caption template (for the test that each one is a parameter).
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else { break };
        keys.push(&rest[open + 1..open + len]);
        rest = &rest[open + len + 1..];
    }
    keys
}

/// Named lists in the order a data file gives them, e.g. `{"animals": [..], "plants":
/// [..]}` (a JSON object whose order matters: it sets the colours and the legend).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Named<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of named lists")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Named<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}
