//! The HTTP client for an endpoint on plain HTTP (a local emulator such as moto or LocalStack).
//!
//! The SDK's default client reads and parses the system's trusted certificates as soon as the
//! configuration is loaded (the credentials chain builds an STS client at once): against a local
//! emulator that costs each command more than all its calls together (7 ms of a 13 ms `update` on
//! the benchmark machine). This client sends `http://` requests without any TLS set-up, and builds
//! a TLS connector with the system's certificates only if a request is for `https://` (e.g. SSO or
//! STS credentials while the service endpoint is local). For AWS itself (no endpoint, or an
//! `https://` one), lambda-rt keeps the SDK's default client, which also honours proxy variables
//! ([`for_aws`] makes the same for the Lambda client, which lambda-rt wraps).

use std::sync::OnceLock;

use anyhow::Result;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// A client for `endpoint_url` when it is on plain HTTP; `None` (the SDK's default) otherwise.
pub fn for_endpoint(endpoint_url: Option<&str>) -> Result<Option<SharedHttpClient>> {
    if !endpoint_url.is_some_and(is_plain_http) {
        return Ok(None);
    }
    // A TLS connector is how the SDK's builder makes a client; with an empty trust store it loads
    // nothing, and it is only ever used for `http://`.
    let no_certificates = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_native_roots(false))
        .build()?;
    let rustls = tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc);
    let plain = aws_smithy_http_client::Builder::new()
        .tls_provider(rustls.clone())
        .tls_context(no_certificates)
        .build_https();
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(rustls)
        .build_https();
    Ok(Some(SharedHttpClient::new(PlainFirst { plain, https })))
}

/// The SDK's default client for AWS itself, made here because lambda-rt wraps the Lambda client's
/// ([`super::pace`]): rustls with aws-lc and the system's certificates, loaded when first used,
/// and the proxy variables (`HTTPS_PROXY`, `NO_PROXY`, ...) honoured, as the SDK's own does.
pub fn for_aws() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default().tls_provider(
            tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc),
        );
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
        connector.build()
    })
}

#[derive(Debug)]
struct PlainFirst {
    plain: SharedHttpClient,
    /// With the system's certificates: made into a connector on the first `https://` request.
    https: SharedHttpClient,
}

impl HttpClient for PlainFirst {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PlainFirstConnector {
            plain: self.plain.http_connector(settings, components),
            https_client: self.https.clone(),
            https: OnceLock::new(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }
}

#[derive(Debug)]
struct PlainFirstConnector {
    plain: SharedHttpConnector,
    https_client: SharedHttpClient,
    https: OnceLock<SharedHttpConnector>,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for PlainFirstConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if is_plain_http(request.uri()) {
            return self.plain.call(request);
        }
        let https = self.https.get_or_init(|| {
            self.https_client
                .http_connector(&self.settings, &self.components)
        });
        https.call(request)
    }
}

fn is_plain_http(uri: &str) -> bool {
    uri.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_http_endpoint_gets_this_client() {
        assert!(for_endpoint(None).unwrap().is_none());
        assert!(for_endpoint(Some("https://lambda.eu-west-1.amazonaws.com"))
            .unwrap()
            .is_none());
        assert!(for_endpoint(Some("http://127.0.0.1:5000"))
            .unwrap()
            .is_some());
        assert!(for_endpoint(Some("HTTP://localhost:4566"))
            .unwrap()
            .is_some());
    }

    /// A client whose connectors record the URIs they are asked for, and how many connectors
    /// were made.
    #[derive(Debug, Default, Clone)]
    struct Recorder(std::sync::Arc<std::sync::Mutex<(usize, Vec<String>)>>);

    impl HttpClient for Recorder {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0.lock().unwrap().0 += 1;
            SharedHttpConnector::new(self.clone())
        }
    }

    impl HttpConnector for Recorder {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            self.0.lock().unwrap().1.push(request.uri().to_string());
            HttpConnectorFuture::ready(Err(
                aws_smithy_runtime_api::client::result::ConnectorError::other(
                    "recorded".into(),
                    None,
                ),
            ))
        }
    }

    #[test]
    fn requests_are_routed_by_scheme_and_tls_is_set_up_only_for_https() {
        let plain = Recorder::default();
        let https = Recorder::default();
        let client = PlainFirst {
            plain: SharedHttpClient::new(plain.clone()),
            https: SharedHttpClient::new(https.clone()),
        };
        let components =
            aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder::for_tests()
                .build()
                .unwrap();
        let connector = client.http_connector(&HttpConnectorSettings::default(), &components);
        let send = |uri: &str| drop(connector.call(HttpRequest::get(uri).unwrap()));
        send("http://127.0.0.1:5000/2015-03-31/functions/f");
        send("HTTP://127.0.0.1:5000/");
        assert_eq!(
            https.0.lock().unwrap().0,
            0,
            "no TLS connector for plain HTTP"
        );
        send("https://sts.amazonaws.com/");
        send("https://portal.sso.eu-west-1.amazonaws.com/");
        assert_eq!(plain.0.lock().unwrap().1.len(), 2);
        assert_eq!(
            https.0.lock().unwrap().clone(),
            (
                1,
                vec![
                    "https://sts.amazonaws.com/".to_string(),
                    "https://portal.sso.eu-west-1.amazonaws.com/".to_string()
                ]
            )
        );
    }
}
