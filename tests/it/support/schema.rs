//! A small JSON Schema checker (the subset the project's schemas use:
//! `$ref` to `$defs`, `type`, `const`, `enum`, lengths, bounds, `required`,
//! `properties`, `additionalProperties: false`, `items`, `anyOf`, `oneOf`;
//! `pattern` and `format` are not checked) so the tests hold the code to
//! `schemas/`.

use std::path::Path;

use serde_json::Value;

/// Loads `schemas/<name>`.
pub fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Appends to `errs` every way `v` breaks schema `s` (within `root`).
pub fn check(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        check(root, &root["$defs"][name], v, path, errs);
    }
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => errs.push(format!("{path}: not {t}")),
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)) => {
            errs.push(format!("{path}: not any of {ts:?}"))
        }
        _ => {}
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{path}: not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minLength").and_then(Value::as_u64), v.as_str()) {
        if (x.chars().count() as u64) < min {
            errs.push(format!("{path}: shorter than {min}"));
        }
    }
    if let (Some(max), Some(x)) = (s.get("maxLength").and_then(Value::as_u64), v.as_str()) {
        if (x.chars().count() as u64) > max {
            errs.push(format!("{path}: longer than {max}"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minItems").and_then(Value::as_u64), v.as_array()) {
        if (x.len() as u64) < min {
            errs.push(format!("{path}: fewer than {min} items"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            errs.push(format!("{path}: {x} below {min}"));
        }
    }
    if let (Some(max), Some(x)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64()) {
        if x > max {
            errs.push(format!("{path}: {x} above {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = req.as_str().unwrap_or_default();
            if !obj.contains_key(k) {
                errs.push(format!("{path}: missing {k}"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, val, &format!("{path}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{path}: unexpected property {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(root, items, item, &format!("{path}[{i}]"), errs);
        }
    }
    for (kw, want_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(alts) = s.get(kw).and_then(Value::as_array) {
            let ok = alts
                .iter()
                .filter(|alt| {
                    let mut e = Vec::new();
                    check(root, alt, v, path, &mut e);
                    e.is_empty()
                })
                .count();
            if ok == 0 || (want_one && ok > 1) {
                errs.push(format!("{path}: {kw} matched {ok} alternatives"));
            }
        }
    }
}

/// Panics with every error when `v` does not follow `schemas/<schema_name>`.
pub fn assert_valid(schema_name: &str, v: &Value) {
    let root = schema(schema_name);
    let mut errs = Vec::new();
    check(&root, &root, v, "$", &mut errs);
    assert!(errs.is_empty(), "{schema_name}: {errs:?}\n{v:#}");
}

/// Whether `v` breaks `schemas/<schema_name>`.
pub fn invalid(schema_name: &str, v: &Value) -> bool {
    let root = schema(schema_name);
    let mut errs = Vec::new();
    check(&root, &root, v, "$", &mut errs);
    !errs.is_empty()
}
