//! Deploying through S3 (`--s3-bucket`) and the Deno layer: the real binary against a real
//! moto_server (which implements S3), counting the calls through the proxy in front of it.

use std::path::Path;

use crate::common::*;
use lambda_rt::package;

const BUCKET: &str = "lambda-rt-staging";

async fn create_bucket(moto: &Moto) -> aws_sdk_s3::Client {
    let s3 = moto.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3
}

/// The keys in the staging bucket.
async fn keys(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

async fn object(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let object = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Random bytes deflate cannot shrink, so the zip really is over 50 MB.
fn write_random(path: &Path, bytes: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut data = vec![0u8; bytes];
    rng.fill(&mut data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn create_and_update_a_function_zip_over_50_mb_through_s3() {
    require_runtime_tools();
    let aws = Aws::start();
    let moto = &aws.moto;
    let s3 = create_bucket(moto).await;
    let lambda = moto.lambda().await;
    let project = Project::new();
    write_random(
        &project.path().join("function/data.bin"),
        51 * 1024 * 1024,
        1,
    );
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);

    // Inline, Lambda would refuse it: lambda-rt says so before any write, and how to fix it.
    aws.start_counting();
    let out = run(&["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "--s3-bucket");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());

    // Through S3: staged under <prefix><function>/function.zip, created from there.
    let out = run(&["create", "--s3-bucket", BUCKET, "--s3-key", "deploy"]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        &format!("s3://{BUCKET}/deploy/bash-runtime/function.zip"),
    );
    let local = package::function_zip(
        &settings_with(project.path(), |input| {
            input.staging.s3_bucket = Some(BUCKET.into())
        }),
        true,
    )
    .unwrap();
    assert!(local.bytes.len() > 50 * 1024 * 1024);
    assert_eq!(
        function_code(&lambda, "bash-runtime").await,
        (local.code_sha256.clone(), local.bytes.len() as i64)
    );
    assert_eq!(keys(&s3).await, vec!["deploy/bash-runtime/function.zip"]);
    assert!(object(&s3, "deploy/bash-runtime/function.zip").await == local.bytes);

    // Unchanged: no upload, no write at all.
    let staged = ["--s3-bucket", BUCKET, "--s3-key", "deploy"];
    for command in ["update", "create"] {
        aws.start_counting();
        let out = run(&[&[command][..], &staged[..]].concat());
        assert_exit(&out, 0);
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{command}");
    }

    // Changed: one upload, one UpdateFunctionCode from S3.
    write_random(
        &project.path().join("function/data.bin"),
        51 * 1024 * 1024,
        2,
    );
    aws.start_counting();
    let out = run(&[&["update"][..], &staged[..]].concat());
    assert_exit(&out, 0);
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionCode", "s3:PutObject"]
    );
    let (sha, size) = function_code(&lambda, "bash-runtime").await;
    assert_ne!(sha, local.code_sha256);
    assert!(size > 50 * 1024 * 1024);

    // delete removes the staged zip too, and leaves the bucket.
    let out = run(&[&["delete"][..], &staged[..]].concat());
    assert_exit(&out, 0);
    assert!(keys(&s3).await.is_empty());
    s3.head_bucket().bucket(BUCKET).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_lambda_never_used_is_not_repeated() {
    require_runtime_tools();
    let aws = Aws::start();
    let moto = &aws.moto;
    let s3 = create_bucket(moto).await;
    let project = Project::new();
    let env = aws.env();
    let staged = ["--s3-bucket", BUCKET];
    assert_exit(
        &lambda_rt(
            project.path(),
            &env,
            &[&["create"][..], &staged[..]].concat(),
        ),
        0,
    );

    // The handler changes; the upload succeeds but UpdateFunctionCode fails every time.
    project.write("function/function.sh", "handler () { echo changed; }\n");
    aws.proxy.always(proxy::Fault::ServerError, |r| {
        r.action == "UpdateFunctionCode"
    });
    let out = lambda_rt(
        project.path(),
        &env,
        &[&["update", "--max-attempts", "1"][..], &staged[..]].concat(),
    );
    assert_exit(&out, 1);
    aws.proxy.pass_through();
    let staged_sha = s3
        .head_object()
        .bucket(BUCKET)
        .key("bash-runtime/function.zip")
        .send()
        .await
        .unwrap()
        .metadata()
        .and_then(|m| m.get("code-sha256").cloned());

    // The re-run finds the object already holds this zip: it only calls Lambda.
    aws.start_counting();
    let out = lambda_rt(
        project.path(),
        &env,
        &[&["update"][..], &staged[..]].concat(),
    );
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), vec!["lambda:UpdateFunctionCode"]);
    let (sha, _) = function_code(&moto.lambda().await, "bash-runtime").await;
    assert_eq!(Some(sha), staged_sha);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_layer_stages_the_deno_layer_in_s3_and_a_rerun_uploads_nothing() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let s3 = create_bucket(moto).await;
    let lambda = moto.lambda().await;
    let project = deno_project();
    let env = aws.env();
    let deno = deno_path();
    let deno = deno.to_str().unwrap();
    let staged = ["--s3-bucket", BUCKET, "--deno", deno];
    let run = |args: &[&str]| lambda_rt(project.path(), &env, &[args, &staged[..]].concat());

    // A new function carries the whole runtime, Deno included.
    assert_exit(&run(&["create"]), 0);
    let with_runtime = settings_with(project.path(), |input| input.deno.deno = Some(deno_path()));
    let zip = package::function_zip(&with_runtime, true).unwrap();
    assert_eq!(
        zip.entry_names,
        vec!["bin/deno", "bootstrap", "function.ts", "runtime.ts"]
    );
    assert_eq!(function_code(&lambda, "deno-fn").await.0, zip.code_sha256);

    // publish-layer: the layer (runtime/ + bin/deno) goes through S3, then the function's code
    // without the runtime.
    let out = run(&["publish-layer", "--output", "json"]);
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["layer"]["version"], 1, "{report}");
    let staged: Vec<(String, String)> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "staged zip")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        staged,
        vec![
            (
                format!("s3://{BUCKET}/deno-fn-layer/layer.zip"),
                "updated".to_string()
            ),
            (
                format!("s3://{BUCKET}/deno-fn/function.zip"),
                "updated".to_string()
            ),
        ],
        "{report}"
    );
    let layer = package::layer_zip(&with_runtime).unwrap();
    assert_eq!(
        layer.entry_names,
        vec!["bin/deno", "bootstrap", "runtime.ts"]
    );
    assert_eq!(report["layer"]["code_sha256"], layer.code_sha256.as_str());
    let version = lambda
        .get_layer_version()
        .layer_name("deno-fn-layer")
        .version_number(1)
        .send()
        .await
        .unwrap();
    let content = version.content().unwrap();
    assert_eq!(content.code_sha256(), Some(layer.code_sha256.as_str()));
    assert_eq!(content.code_size(), layer.bytes.len() as i64);
    assert_eq!(
        keys(&s3).await,
        vec!["deno-fn-layer/layer.zip", "deno-fn/function.zip"]
    );
    assert!(object(&s3, "deno-fn-layer/layer.zip").await == layer.bytes);
    let function_only = package::function_zip(&with_runtime, false).unwrap();
    assert_eq!(
        function_code(&lambda, "deno-fn").await.0,
        function_only.code_sha256
    );

    // Re-running publish-layer (and update) uploads nothing and writes nothing.
    for command in ["publish-layer", "update"] {
        aws.start_counting();
        assert_exit(&run(&[command]), 0);
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{command}");
    }

    // A Deno binary that cannot run on the function's architecture is refused before any call.
    aws.start_counting();
    let out = run(&["publish-layer", "--architecture", "arm64"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("built for x86_64") && stderr(&out).contains("arm64"),
        "{}",
        stderr(&out)
    );
    let script = project.path().join("deno-wrapper");
    std::fs::write(&script, "#!/bin/sh\nexec deno \"$@\"\n").unwrap();
    let out = lambda_rt(
        project.path(),
        &env,
        &[
            "publish-layer",
            "--s3-bucket",
            BUCKET,
            "--deno",
            script.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "not a Linux executable");
    aws.assert_no_requests("a Deno binary that cannot run is refused before any call");

    let out = lambda_rt(project.path(), &env, &["delete", "--s3-bucket", BUCKET]);
    assert_exit(&out, 0);
    assert!(keys(&s3).await.is_empty());
}

#[test]
fn a_missing_bucket_or_a_bad_bucket_name_is_explained() {
    require_runtime_tools();
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    aws.start_counting();
    let out = lambda_rt(
        project.path(),
        &env,
        &["create", "--s3-bucket", "no-such-bucket"],
    );
    assert_exit(&out, 1);
    assert_stderr_has(&out, "aws s3 mb s3://no-such-bucket");
    // The zip is staged before the role is made: nothing was created.
    let writes = aws.counted().writes();
    assert!(writes.iter().all(|w| w.starts_with("s3:")), "{writes:?}");

    for args in [
        &["create", "--s3-bucket", "Bad_Bucket"][..],
        &["create", "--s3-key", "prefix/"][..],
    ] {
        aws.start_counting();
        let out = lambda_rt(project.path(), &env, args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, "--s3-bucket");
        aws.assert_no_requests("a bad bucket setting is refused before any call");
    }
}

/// Someone who can write the staging key plants a zip with forged `code-sha256` metadata: lambda-rt
/// trusts only S3's own checksum, so it uploads the project's zip and deploys that; and an object
/// replaced between the upload and Lambda's copy is caught from the CodeSha256 Lambda answers.
#[tokio::test(flavor = "multi_thread")]
async fn a_planted_or_swapped_staging_object_is_never_deployed_as_the_project() {
    let aws = Aws::start();
    let s3 = create_bucket(&aws.moto).await;
    let lambda = aws.moto.lambda().await;
    let project = Project::new();
    let staged = |name: &str| {
        vec![
            "create".to_string(),
            "--s3-bucket".into(),
            BUCKET.into(),
            "--function-name".into(),
            name.into(),
        ]
    };
    let run = |name: &str| {
        let args = staged(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lambda_rt(project.path(), &aws.env(), &args)
    };
    assert_exit(&run("genuine"), 0);
    let genuine = object(&s3, "genuine/function.zip").await;
    let (genuine_sha, _) = function_code(&lambda, "genuine").await;

    // The same size, other bytes, and the metadata the project's zip would carry.
    let mut planted = genuine.clone();
    let middle = planted.len() / 2;
    planted[middle] ^= 0xff;
    s3.put_object()
        .bucket(BUCKET)
        .key("planted/function.zip")
        .metadata("code-sha256", &genuine_sha)
        .metadata("managed-by", "lambda-rt")
        .body(planted.into())
        .send()
        .await
        .unwrap();
    let out = run("planted");
    assert_exit(&out, 0);
    assert_stderr_lacks(&out, "unchanged staged zip");
    assert_eq!(function_code(&lambda, "planted").await.0, genuine_sha);
    assert_eq!(object(&s3, "planted/function.zip").await, genuine);

    // Swapped while CreateFunction is on its way.
    aws.proxy.hold(|r| r.action == "CreateFunction");
    let args = staged("swapped");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = lambda_rt_command(project.path(), &aws.env(), &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Spawned::new(child);
    assert!(aws.proxy.wait_held(std::time::Duration::from_secs(30)));
    s3.put_object()
        .bucket(BUCKET)
        .key("swapped/function.zip")
        .body(b"not the project's code".to_vec().into())
        .send()
        .await
        .unwrap();
    aws.proxy.release();
    let status = child
        .wait_for_exit(std::time::Duration::from_secs(60))
        .expect("it ended");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("was replaced between its upload and Lambda's copy"),
        "{err}"
    );
}

/// Every S3 call names the account that must own the bucket, so a bucket of another account is
/// refused by S3 itself and the code never goes there; nothing is made in AWS.
#[tokio::test(flavor = "multi_thread")]
async fn every_staging_call_names_the_expected_bucket_owner() {
    let aws = Aws::start();
    let s3 = create_bucket(&aws.moto).await;
    s3.create_bucket()
        .bucket("someone-elses")
        .send()
        .await
        .unwrap();
    aws.proxy.foreign_bucket("someone-elses");
    let project = Project::new();
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["create", "--s3-bucket", BUCKET],
    );
    assert_exit(&out, 0);
    // The staged zip is encrypted at rest, whatever the bucket's default.
    let staged = s3
        .head_object()
        .bucket(BUCKET)
        .key("bash-runtime/function.zip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        staged.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["delete", "--s3-bucket", BUCKET],
    );
    assert_exit(&out, 0);
    let (requests, without_owner) = aws.proxy.s3_requests();
    assert!(requests >= 3, "{requests}");
    assert_eq!(without_owner, 0, "S3 requests without ExpectedBucketOwner");

    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &[
            "create",
            "--function-name",
            "elsewhere",
            "--s3-bucket",
            "someone-elses",
        ],
    );
    assert_exit(&out, 1);
    assert_stderr_has(&out, "S3 refused access to `someone-elses`");
    let listed = s3
        .list_objects_v2()
        .bucket("someone-elses")
        .send()
        .await
        .unwrap();
    assert!(listed.contents().is_empty(), "{listed:?}");
    assert!(aws
        .moto
        .lambda()
        .await
        .get_function()
        .function_name("elsewhere")
        .send()
        .await
        .is_err());
}

/// In a bucket that keeps versions, Lambda is told which version of the staged object to take
/// (the one lambda-rt uploaded or found holding its zip), so a later write to the key cannot be
/// deployed in its place; in a bucket without versions nothing is named.
#[tokio::test(flavor = "multi_thread")]
async fn a_versioned_bucket_pins_the_object_version_lambda_takes() {
    let aws = Aws::start();
    let s3 = aws.moto.s3().await;
    for bucket in ["versioned-staging", "plain-staging"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    s3.put_bucket_versioning()
        .bucket("versioned-staging")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let current_version = |key: &'static str| {
        let s3 = s3.clone();
        async move {
            let head = s3
                .head_object()
                .bucket("versioned-staging")
                .key(key)
                .send()
                .await
                .unwrap();
            serde_json::Value::from(head.version_id().unwrap())
        }
    };
    let project = Project::new();
    let staged = ["--s3-bucket", "versioned-staging"];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&staged);
        lambda_rt(project.path(), &aws.env(), &all)
    };

    assert_exit(&run(&["create"]), 0);
    let sent = aws.proxy.bodies("lambda:CreateFunction");
    assert_eq!(
        sent.last().unwrap()["Code"]["S3ObjectVersion"],
        current_version("bash-runtime/function.zip").await
    );
    project.write("function/function.sh", "handler () {\n  echo v2\n}\n");
    assert_exit(&run(&["update"]), 0);
    let sent = aws.proxy.bodies("lambda:UpdateFunctionCode");
    assert_eq!(
        sent.last().unwrap()["S3ObjectVersion"],
        current_version("bash-runtime/function.zip").await
    );
    assert_exit(&run(&["publish-layer"]), 0);
    let sent = aws.proxy.bodies("lambda:PublishLayerVersion");
    assert_eq!(
        sent.last().unwrap()["Content"]["S3ObjectVersion"],
        current_version("bash-runtime-layer/layer.zip").await
    );

    let plain = Project::new();
    let out = lambda_rt(
        plain.path(),
        &aws.env(),
        &[
            "create",
            "--function-name",
            "plain",
            "--s3-bucket",
            "plain-staging",
        ],
    );
    assert_exit(&out, 0);
    let sent = aws.proxy.bodies("lambda:CreateFunction");
    let code = &sent.last().unwrap()["Code"];
    assert_eq!(code["S3Bucket"], "plain-staging");
    assert!(code.get("S3ObjectVersion").is_none(), "{code}");
}
