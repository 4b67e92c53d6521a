//! Resource policies (a function's, a layer version's): lambda-rt recognises its own statements
//! by their ids.

/// The statement ids (`Sid`) of a resource policy document (a function's or a layer version's).
pub fn statement_ids(policy: &serde_json::Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .map(|statements| {
            statements
                .iter()
                .filter_map(|s| s["Sid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
