//! Flags of `lambda-rt create` and `lambda-rt update`, and of the function's URL.

use clap::Args;

use super::common::{AwsArgs, DeployedArgs, StagingArgs};
use crate::function_url::{UrlAuth, UrlInvokeMode, UrlSpec};

/// Flags of `create` and `update`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    /// Take over a same-named function lambda-rt did not create (tags it, then updates it)
    #[arg(long)]
    pub adopt: bool,

    /// Send the code and the whole configuration even if nothing differs (e.g. to retry an update
    /// that failed in Lambda)
    #[arg(long)]
    pub force: bool,

    /// Then publish a version, unless $LATEST already is the newest one
    #[arg(long)]
    pub publish: bool,

    /// Then point this alias at the published version (implies --publish)
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,

    /// With --publish: delete all but the newest N versions (never one an alias points at)
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,

    #[command(flatten)]
    pub url: UrlArgs,

    #[command(flatten)]
    pub function: DeployedArgs,
    #[command(flatten)]
    pub staging: StagingArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `update`: what `create` takes, and `--watch`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Then keep watching runtime/, function/ and lambda-rt.toml, and deploy each change (Ctrl-C
    /// stops)
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// The function's URL (`create` and `update`); without `--url` or `--no-url` it is left alone.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function URL")]
pub struct UrlArgs {
    /// Give the function an HTTPS URL (a Function URL), or bring it in line with these flags;
    /// needs --url-auth, the choice of who may call it
    #[arg(long, conflicts_with = "no_url", requires = "url_auth")]
    pub url: bool,

    /// Remove the function's URL and lambda-rt's public-access permissions
    #[arg(long)]
    pub no_url: bool,

    /// Who may call the URL: none (anyone on the internet: public) or iam (signed requests
    /// only); no default, so that nothing is public unless asked
    #[arg(long, value_enum, value_name = "AUTH", requires = "url")]
    pub url_auth: Option<UrlAuth>,

    /// An origin web pages may call the URL from, e.g. https://example.com (CORS; repeatable)
    #[arg(long, value_name = "ORIGIN", requires = "url", value_parser = parse_origin)]
    pub cors_origin: Vec<String>,

    /// buffered, or response-stream for a function that streams its response [default: buffered]
    #[arg(long, value_enum, value_name = "MODE", requires = "url")]
    pub invoke_mode: Option<UrlInvokeMode>,
}

impl UrlArgs {
    /// What the flags ask for: `Some(None)` to remove the URL, `None` to leave it alone.
    pub fn wanted(&self) -> Option<Option<UrlSpec>> {
        if self.no_url {
            return Some(None);
        }
        self.url.then(|| {
            Some(UrlSpec {
                // clap makes --url require --url-auth; IAM is the safe choice if that changes.
                auth: self.url_auth.unwrap_or(UrlAuth::Iam),
                cors_origins: self.cors_origin.clone(),
                invoke_mode: self.invoke_mode.unwrap_or(UrlInvokeMode::Buffered),
            })
        })
    }
}

/// A CORS origin as Function URLs take it: 1 to 253 characters.
fn parse_origin(text: &str) -> Result<String, String> {
    if (1..=253).contains(&text.chars().count()) {
        Ok(text.to_string())
    } else {
        Err("an origin is 1 to 253 characters, e.g. https://example.com or *".to_string())
    }
}
