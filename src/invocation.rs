//! The result of invoking a function, shared by the AWS client (`aws::lambda`) and the local
//! emulator (`emulator`), so that neither depends on the other and `invoke` prints both alike.

/// What the invoker sees after one synchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutcome {
    pub payload: Vec<u8>,
    /// `Handled` or `Unhandled` when the function reported an error.
    pub function_error: Option<String>,
    /// The decoded log tail (last 4 KB), when asked for.
    pub log_tail: Option<String>,
    pub executed_version: Option<String>,
}

/// An error document Lambda itself writes (a timeout, a runtime that exited, a response too
/// large): `errorType` first, then `errorMessage`, as in Lambda's own answers. (`serde_json`'s maps
/// are sorted, which would put `errorMessage` first.)
pub fn lambda_error_document(error_type: &str, message: &str) -> String {
    format!(
        "{{\"errorType\":{},\"errorMessage\":{}}}",
        serde_json::Value::from(error_type),
        serde_json::Value::from(message)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn lambdas_own_error_documents_put_the_type_first() {
        let document = super::lambda_error_document(
            "Sandbox.Timedout",
            "Task timed out after 3.00 seconds \"x\"",
        );
        assert_eq!(
            document,
            r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 3.00 seconds \"x\""}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&document).is_ok());
    }
}
