//! A real `moto_server` per test (bound to 127.0.0.1, stopped on drop) behind the realism proxy
//! that counts every AWS call ([`Aws`], [`Counts`]), and direct SDK access for arranging and
//! checking what lambda-rt should find and leave.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::*;
use super::tools::*;

pub const REGION: &str = "us-east-1";

/// A running moto_server, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Empty AWS config and credentials files, so no local AWS setup leaks into tests.
    _aws_dir: tempfile::TempDir,
    aws_config_file: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto with the managed policies loaded and invoke echoing its payload (no Docker).
    pub fn start() -> Moto {
        Self::start_with(true)
    }

    /// `echo_invoke: false` keeps moto's default invoke backend, which without Docker answers every
    /// invoke with a function error: the error path.
    pub fn start_with(echo_invoke: bool) -> Moto {
        let program = moto_server_path();
        let aws_dir = tempfile::tempdir().unwrap();
        let aws_config_file = aws_dir.path().join("empty");
        std::fs::write(&aws_config_file, "").unwrap();
        for _attempt in 0..3 {
            let port = free_port();
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                // The recorder writes `moto_recording` into the working directory: keep it out of
                // the checkout.
                .current_dir(aws_dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("failed to start `{}`: {e}", program.display()));
            let mut moto = Moto {
                child,
                port,
                url: format!("http://127.0.0.1:{port}"),
                _aws_dir: tempfile::tempdir().unwrap(),
                aws_config_file: aws_config_file.clone(),
            };
            if moto.wait_ready(Duration::from_secs(30)) {
                if echo_invoke {
                    moto.post("/moto-api/config", r#"{"lambda":{"use_docker":false}}"#);
                }
                moto._aws_dir = aws_dir;
                return moto;
            }
            // Port taken by someone else between probing and binding, or a slow start: retry.
            drop(moto);
        }
        panic!("moto_server did not start within 30 s (three attempts)");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if ureq::get(format!("{}/moto-api/data.json", self.url))
                .call()
                .is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    pub fn post(&self, path: &str, body: &str) -> String {
        ureq::post(format!("{}{path}", self.url))
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path} to moto failed: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// Environment for a process that talks to this moto: endpoint, dummy credentials, region,
    /// and empty config files.
    pub fn env(&self) -> Vec<(String, String)> {
        let empty = self.aws_config_file.display().to_string();
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_CONFIG_FILE".into(), empty.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), empty),
        ]
    }

    /// SDK configuration pointing at this moto, for setting up and inspecting state in tests.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.url).await
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config().await)
    }

    pub async fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config().await)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

/// SDK configuration for `url` with the test credentials and region.
pub async fn sdk_config_for(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The CodeSha256 and size of function `name`'s code, as Lambda reports them.
pub async fn function_code(lambda: &aws_sdk_lambda::Client, name: &str) -> (String, i64) {
    let config = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    (
        config.code_sha256().unwrap_or_default().to_string(),
        config.code_size(),
    )
}

/// Environment for a lambda-rt run against `url` with dummy credentials and no AWS config files,
/// for tests of endpoints that are not moto (closed, black-holed).
pub fn endpoint_env(url: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", url),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A real moto_server behind the realism proxy: lambda-rt talks to the proxy, which counts every
/// request by operation (and, when realistic, behaves like real AWS).
pub struct Aws {
    pub moto: Moto,
    pub proxy: super::proxy::AwsProxy,
}

/// At the end of a test that passed so far, every request it sent must be one AWS would accept.
impl Drop for Aws {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            super::model_check::assert_accepted(&self.proxy.take_recorded());
        }
    }
}

impl Aws {
    /// moto behind a transparent, counting proxy.
    pub fn start() -> Aws {
        Self::with(super::proxy::Realism::default())
    }

    /// moto behind the proxy with every real-AWS behaviour, at test durations.
    pub fn realistic() -> Aws {
        Self::with(super::proxy::Realism::short())
    }

    pub fn with(realism: super::proxy::Realism) -> Aws {
        Self::over(Moto::start(), realism)
    }

    /// `moto` (started by the caller, e.g. with moto's own invoke backend) behind the proxy.
    pub fn over(moto: Moto, realism: super::proxy::Realism) -> Aws {
        let proxy = super::proxy::AwsProxy::start_with(moto.port, realism);
        proxy.record_requests();
        Aws { moto, proxy }
    }

    /// Checks the requests sent since the last check (or the start) against AWS's published
    /// models now, and forgets them; [`Drop`] checks the rest.
    pub fn model_report(&self) -> super::model_check::ModelReport {
        super::model_check::check(&self.proxy.take_recorded())
    }

    /// Environment for lambda-rt: the proxy as the endpoint, dummy credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        self.proxy.env(&self.moto.env())
    }

    /// SDK configuration through the proxy (so setup calls see the same realism).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.proxy.url).await
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config().await)
    }

    /// Forgets the requests counted so far.
    pub fn start_counting(&self) {
        self.proxy.reset_counts();
    }

    /// The requests counted since [`Aws::start_counting`]. Panics if there were none at all: a
    /// "no writes" assertion must not pass because counting broke.
    pub fn counted(&self) -> Counts {
        let counts = Counts(self.proxy.counts());
        assert!(
            counts.total() > 0,
            "the proxy counted no request at all since start_counting: counting is broken, or \
             lambda-rt never reached AWS"
        );
        counts
    }
}

/// Tags as AWS answers them, sorted, for comparisons.
pub fn sorted_tags(
    tags: Option<&std::collections::HashMap<String, String>>,
) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = tags.cloned().unwrap_or_default().into_iter().collect();
    tags.sort();
    tags
}

impl Aws {
    /// Function `name`'s configuration, read through the proxy (so with what the proxy keeps
    /// that moto forgets).
    pub async fn function_configuration(
        &self,
        name: &str,
    ) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
        self.lambda()
            .await
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap()
    }

    /// Runs `lambda-rt args` in `project` against this AWS (it must exit 0) and returns the writes
    /// it sent, sorted: `assert_eq!(aws.writes_of(dir, &["update"]), ["lambda:TagResource"])`.
    pub fn writes_of(&self, project: &std::path::Path, args: &[&str]) -> Vec<String> {
        self.writes_of_with(project, &self.env(), args)
    }

    /// [`Aws::writes_of`] with another environment (e.g. a PATH of the test's).
    pub fn writes_of_with(
        &self,
        project: &std::path::Path,
        env: &[(String, String)],
        args: &[&str],
    ) -> Vec<String> {
        self.start_counting();
        let out = super::cli::lambda_rt(project, env, args);
        super::cli::assert_exit(&out, 0);
        let mut writes = self.counted().writes();
        writes.sort();
        writes
    }
}

/// Requests received, by `service:Operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub std::collections::BTreeMap<String, u64>);

impl Counts {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// The write operations among them (each as often as it was received).
    pub fn writes(&self) -> Vec<String> {
        let mut writes = Vec::new();
        for (key, n) in &self.0 {
            let (service, action) = key.split_once(':').unwrap_or(("", key));
            if super::proxy::classify::is_write(service, action) {
                writes.extend(std::iter::repeat(key.clone()).take(*n as usize));
            }
        }
        writes
    }

    /// Requests other than writes.
    pub fn reads(&self) -> u64 {
        self.total() - self.writes().len() as u64
    }

    /// Requests to one service (`iam`, `lambda`, `logs`, `s3`).
    pub fn of_service(&self, service: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{service}:")))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Aws {
    /// Asserts that no request reached AWS since [`Aws::start_counting`], then proves that the
    /// counter works by sending one request itself and seeing it counted: a broken counter cannot
    /// make this pass.
    pub fn assert_no_requests(&self, why: &str) {
        let counts = Counts(self.proxy.counts());
        assert_eq!(counts.total(), 0, "{why}: {counts:?}");
        let probe = ureq::get(format!("{}/2015-03-31/functions/", self.proxy.url))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .call();
        assert!(probe.is_ok(), "the probe request failed: {probe:?}");
        assert_eq!(
            self.proxy.count("lambda:ListFunctions"),
            1,
            "the proxy did not count a request it received: counting is broken"
        );
        self.proxy.reset_counts();
    }
}

/// Creates function `name` straight through the Lambda API, as the console or a script would
/// (no lambda-rt tag): the provided.al2023 runtime, `handler`, and `zip` as its code.
pub async fn create_function_directly(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    role_arn: &str,
    handler: &str,
    zip: Vec<u8>,
) {
    lambda
        .create_function()
        .function_name(name)
        .role(role_arn)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler(handler)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The trust policy of a role Lambda may assume, for roles tests make by hand.
pub const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The version numbers of layer `layer`, oldest first.
pub async fn layer_versions(lambda: &aws_sdk_lambda::Client, layer: &str) -> Vec<i64> {
    let listed = lambda
        .list_layer_versions()
        .layer_name(layer)
        .send()
        .await
        .unwrap();
    let mut versions: Vec<i64> = listed
        .layer_versions()
        .iter()
        .map(|v| v.version())
        .collect();
    versions.sort();
    versions
}

/// The layer version ARNs function `name` has, in order.
pub async fn attached_layers(lambda: &aws_sdk_lambda::Client, name: &str) -> Vec<String> {
    let config = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    config
        .layers()
        .iter()
        .filter_map(|l| l.arn().map(str::to_string))
        .collect()
}

/// Publishes a layer lambda-rt does not own, straight through the SDK: one executable file
/// `bin/tool`. Returns the version's ARN.
pub async fn publish_foreign_layer(lambda: &aws_sdk_lambda::Client, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tool"), "#!/bin/sh\n").unwrap();
    let zip = lambda_rt::package::build_zip(
        vec![lambda_rt::package::Entry {
            name: "bin/tool".into(),
            source: dir.path().join("tool"),
            mode: 0o755,
        }],
        lambda_rt::package::Limits::default(),
    )
    .unwrap();
    lambda
        .publish_layer_version()
        .layer_name(name)
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.bytes))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .layer_version_arn()
        .unwrap()
        .to_string()
}
