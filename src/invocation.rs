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
