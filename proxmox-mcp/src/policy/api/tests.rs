//! Tests of the API classification: by path in `tests/classify.rs`, with parameters in
//! `tests/params.rs`, the endpoint table and the attacks in `tests/table.rs`, the
//! escalations added with it in `tests/reach.rs` and `tests/storage.rs`, the guests a request
//! names in `tests/guests.rs`, the ways around them a review found in `tests/review.rs`.

mod classify;
mod guests;
mod params;
mod reach;
mod review;
mod storage;
mod table;

use serde_json::Value;

use super::*;

/// (method, path, parameters, class) through [`classify_api_call`]; with no parameters it
/// is [`classify_api`] as well.
fn check(cases: &[(&str, &str, Value, Class)]) {
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|(m, p, params, want)| {
            let Value::Object(map) = params else {
                return Some(format!("{m} {p}: parameters must be an object"));
            };
            let got = classify_api_call(m, p, map);
            let plain = map.is_empty() && classify_api(m, p) != got;
            (got != *want || plain).then(|| format!("{m} {p} {params}: got {got}, want {want}"))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
