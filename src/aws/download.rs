//! Fetching a function's deployed code from the URL GetFunction answers (`Code.Location`: a
//! presigned S3 URL, valid for ten minutes), for `init --from-function`. The URL carries a
//! session token in its query, so no message ever shows it.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;

/// How long the whole download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// GETs `url` (https with the system's certificates, or plain http for a local emulator) and
/// returns the body, refusing one over `limit` bytes.
pub async fn fetch(url: &str, limit: usize) -> Result<Vec<u8>> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .context("failed to load the system's trusted certificates")?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(connector);
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| anyhow!("the code location Lambda answered is not a URL"))?;
    let download = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| anyhow!("failed to download the function's code: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(anyhow!(
                "failed to download the function's code: the code location answered {status}"
            ));
        }
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| anyhow!("failed to download the function's code: {e}"))?;
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(DOWNLOAD_TIMEOUT, download)
        .await
        .map_err(|_| {
            anyhow!(
                "failed to download the function's code: no answer within {} s",
                DOWNLOAD_TIMEOUT.as_secs()
            )
        })?
}
