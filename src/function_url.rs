//! What a function URL should be, as the command line and settings say it: value types shared by
//! `cli` (flags) and `aws::url` (which makes it so), in a module of their own so that neither
//! depends on the other.

/// Who may call the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UrlAuth {
    /// Anyone (a public endpoint)
    None,
    /// Only requests signed by IAM principals allowed to invoke it
    Iam,
}

/// How the URL returns the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UrlInvokeMode {
    /// The whole response at once (up to 6 MB)
    #[value(alias = "BUFFERED")]
    Buffered,
    /// Streamed as the function writes it
    #[value(alias = "RESPONSE_STREAM")]
    ResponseStream,
}

/// The URL the project asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpec {
    pub auth: UrlAuth,
    pub cors_origins: Vec<String>,
    pub invoke_mode: UrlInvokeMode,
}
