//! publish-layer (and the layer-aware parts of create, update and delete): the real binary against a
//! real moto_server, counting the calls moto received.

use std::path::Path;

use crate::common::*;
use lambda_rt::package;

const FUNCTION: &str = "bash-runtime";
const LAYER: &str = "bash-runtime-layer";

/// The CodeSha256 and size of the project's function zip, built by lambda-rt's own packager.
fn function_zip(project: &Path, with_bootstrap: bool) -> (String, i64) {
    let settings = settings_with(project, |_| {});
    let zip = package::function_zip(&settings, with_bootstrap).unwrap();
    (zip.code_sha256, zip.bytes.len() as i64)
}

async fn function_layers(lambda: &aws_sdk_lambda::Client) -> Vec<String> {
    attached_layers(lambda, FUNCTION).await
}

async fn set_layers(lambda: &aws_sdk_lambda::Client, layers: &[String]) {
    lambda
        .update_function_configuration()
        .function_name(FUNCTION)
        .set_layers(Some(layers.to_vec()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_attach_republish_share_prune_detach_and_delete() {
    require_runtime_tools();
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    let lambda = moto.lambda().await;

    assert_exit(&run(&["create"]), 0);
    let other = publish_foreign_layer(&lambda, "someone-elses-layer").await;
    set_layers(&lambda, std::slice::from_ref(&other)).await;

    // First publish: version 1, attached after the unrelated layer, code without bootstrap.
    let out = run(&["publish-layer", "--output", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    let layer = &report["layer"];
    assert_eq!(layer["version"], 1, "{report}");
    assert_eq!(layer["published"], true);
    assert_eq!(layer["attached"], true);
    let v1 = layer["layer_version_arn"].as_str().unwrap().to_string();
    assert!(v1.ends_with(&format!(":layer:{LAYER}:1")), "{v1}");
    assert_eq!(
        function_layers(&lambda).await,
        vec![other.clone(), v1.clone()]
    );
    let without = function_zip(project.path(), false);
    let with = function_zip(project.path(), true);
    assert_ne!(without, with);
    assert_eq!(function_code(&lambda, FUNCTION).await, without);

    // The function still runs: remotely, and locally in the layer layout.
    assert_exit(&run(&["invoke", "--payload", r#"{"a":1}"#]), 0);
    let out = run(&["invoke", "--local", "--payload", r#""x""#]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("Echoing request"), "{}", stdout(&out));

    // Nothing changed: no write from publish-layer, create or update.
    for args in [&["publish-layer"][..], &["create"], &["update"]] {
        aws.start_counting();
        let out = run(args);
        assert_exit(&out, 0);
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{args:?}");
        if args == ["publish-layer"] {
            assert_stderr_has(&out, "reused");
        }
    }

    // A handler edit: update uploads the zip without bootstrap, and only that.
    project.write(
        "function/function.sh",
        "function handler () {\n  printf 'edited: %s' \"$1\"\n}\n",
    );
    aws.start_counting();
    let out = run(&["update"]);
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), vec!["lambda:UpdateFunctionCode"]);
    assert_eq!(
        function_code(&lambda, FUNCTION).await,
        function_zip(project.path(), false)
    );

    // An edited runtime is not deployed by update, which says so: the function still runs
    // version 1, and update wrote nothing for it.
    project.write("runtime/bootstrap", &bootstrap_variant("v2"));
    aws.start_counting();
    let out = run(&["update", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    assert_stderr_has(
        &out,
        "runtime/ differs from layer version `bash-runtime-layer:1`",
    );
    let report = json(&out);
    assert_eq!(report["resources"][0]["action"], "unchanged", "{report}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("lambda-rt publish-layer"), "{report}");

    // Put our layer first by hand; a new runtime version must take its place, not move it.
    set_layers(&lambda, &[v1.clone(), other.clone()]).await;
    let out = run(&["publish-layer", "--output", "json"]);
    assert_exit(&out, 0);
    let v2 = json(&out)["layer"]["layer_version_arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(v2.ends_with(":2"), "{v2}");
    assert_eq!(
        function_layers(&lambda).await,
        vec![v2.clone(), other.clone()]
    );
    assert_eq!(layer_versions(&lambda, LAYER).await, vec![1, 2]);

    // Sharing twice leaves exactly one statement of ours, next to a statement we did not make.
    lambda
        .add_layer_version_permission()
        .layer_name(LAYER)
        .version_number(2)
        .statement_id("someone-elses-grant")
        .action("lambda:GetLayerVersion")
        .principal("444455556666")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        assert_exit(&run(&["publish-layer", "--share-with", "111122223333"]), 0);
    }
    let policy = lambda
        .get_layer_version_policy()
        .layer_name(LAYER)
        .version_number(2)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let mut sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    sids.sort();
    assert_eq!(
        sids,
        vec!["lambda-rt-account-111122223333", "someone-elses-grant"]
    );
    // Sharing with every account says, once, that the version is now public.
    let out = run(&["publish-layer", "--share-with", "*", "--public"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "version 2 is public: every AWS account can use it");
    let out = run(&["publish-layer", "--share-with", "*", "--public"]);
    assert_stderr_lacks(&out, "is public");

    // A third version with --keep 1: only the newest remains.
    project.write("runtime/bootstrap", &bootstrap_variant("v3"));
    let out = run(&["publish-layer", "--keep", "1", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(
        json(&out)["layer"]["pruned_versions"],
        serde_json::json!([2, 1])
    );
    assert_eq!(layer_versions(&lambda, LAYER).await, vec![3]);
    let v3 = json(&out)["layer"]["layer_version_arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(function_layers(&lambda).await, vec![v3, other.clone()]);

    // The way back: bootstrap in the code again, our layer gone, the other one still there.
    let out = run(&["publish-layer", "--detach"]);
    assert_exit(&out, 0);
    assert_eq!(
        function_code(&lambda, FUNCTION).await,
        function_zip(project.path(), true)
    );
    assert_eq!(function_layers(&lambda).await, vec![other.clone()]);
    // ...and from then on create/update keep bootstrap in the code: a no-op stays write-free.
    aws.start_counting();
    assert_exit(&run(&["update"]), 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());

    // delete removes every version of our layer, and nothing of the other one.
    let out = run(&["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, &format!("deleted  layer version `{LAYER}:3`"));
    assert_eq!(layer_versions(&lambda, LAYER).await, Vec::<i64>::new());
    assert_eq!(
        layer_versions(&lambda, "someone-elses-layer").await,
        vec![1]
    );
    // Again: nothing left to delete, still exit 0.
    let out = run(&["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, &format!("absent  layer `{LAYER}`"));
}

/// The repository's bootstrap with a marker comment, so its CodeSha256 differs.
fn bootstrap_variant(marker: &str) -> String {
    let original = std::fs::read_to_string(repo_root().join("runtime/bootstrap")).unwrap();
    format!("{original}\n# {marker}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_keep_layer_keeps_every_version() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    let lambda = moto.lambda().await;

    assert_exit(&run(&["create"]), 0);
    assert_exit(&run(&["publish-layer"]), 0);
    project.write("runtime/bootstrap", &bootstrap_variant("two"));
    assert_exit(&run(&["publish-layer"]), 0);
    let out = run(&["delete", "--keep-layer", "--output", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    let layer = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "layer")
        .unwrap();
    assert_eq!(layer["action"], "kept");
    assert_eq!(layer_versions(&lambda, LAYER).await, vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_attach_dry_run_and_pruning_spare_the_attached_version() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    let lambda = moto.lambda().await;

    // --no-attach needs no function.
    let out = run(&["publish-layer", "--no-attach", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["layer"]["version"], 1);
    assert_eq!(json(&out)["layer"]["attached"], false);

    // A dry run against an existing function makes only reads, and says what it would do.
    assert_exit(&run(&["create"]), 0);
    aws.start_counting();
    let out = run(&["publish-layer", "--dry-run", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let report = json(&out);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["layer"]["published"], false, "{report}");
    assert_eq!(report["layer"]["attached"], true);
    let function = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "function")
        .unwrap();
    assert_eq!(function["action"], "would_update", "{report}");
    assert!(function_layers(&lambda).await.is_empty());

    // Attach version 1, then publish version 2 without attaching it: --keep 1 must not delete the
    // attached version 1.
    assert_exit(&run(&["publish-layer"]), 0);
    project.write("runtime/bootstrap", &bootstrap_variant("two"));
    aws.start_counting();
    let out = run(&["publish-layer", "--no-attach", "--keep", "1"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "attached to function `bash-runtime`");
    assert_eq!(layer_versions(&lambda, LAYER).await, vec![1, 2]);
    // --no-attach touched nothing of the function: it published a version, nothing else.
    assert_eq!(aws.counted().writes(), vec!["lambda:PublishLayerVersion"]);

    // A dry run that would publish: no version yet, and still no writes.
    project.write("runtime/bootstrap", &bootstrap_variant("three"));
    aws.start_counting();
    let out = run(&["publish-layer", "--dry-run", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let report = json(&out);
    assert_eq!(report["layer"]["published"], true);
    assert_eq!(report["layer"]["version"], serde_json::Value::Null);
    assert_eq!(layer_versions(&lambda, LAYER).await, vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_any_change() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    aws.start_counting();

    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["publish-layer", "--keep", "0"], 2, "keep at least 1"),
        (
            vec!["publish-layer", "--share-with", "12345"],
            2,
            "12-digit AWS account id",
        ),
        (
            vec!["publish-layer", "--share-with", "o-x"],
            2,
            "organization id",
        ),
        // Public only when asked twice.
        (
            vec!["publish-layer", "--share-with", "*"],
            2,
            "Add --public to confirm",
        ),
        (
            vec![
                "publish-layer",
                "--share-with",
                "111122223333",
                "--share-with",
                "*",
            ],
            2,
            "makes the layer public",
        ),
        (vec!["publish-layer", "--public"], 2, "--share-with"),
        (
            vec!["publish-layer", "--layer-name", "bad name"],
            2,
            "invalid layer name",
        ),
        (
            vec!["publish-layer", "--detach", "--no-attach"],
            2,
            "cannot be used with",
        ),
        (
            vec!["publish-layer"],
            1,
            "function `bash-runtime` does not exist; run `lambda-rt create` first, or pass \
             --no-attach",
        ),
        (vec!["publish-layer", "--detach"], 1, "does not exist"),
    ];
    for (args, code, message) in cases {
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, code);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        record_bad_input(&args, &out);
    }

    let no_runtime = Project::new();
    std::fs::remove_dir_all(no_runtime.path().join("runtime")).unwrap();
    let out = lambda_rt(no_runtime.path(), &env, &["publish-layer", "--no-attach"]);
    record_bad_input(&["publish-layer --no-attach (no runtime/ directory)"], &out);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "`runtime/` does not exist");

    let no_bootstrap = Project::new();
    std::fs::remove_file(no_bootstrap.path().join("runtime/bootstrap")).unwrap();
    no_bootstrap.write("runtime/lib/helper.sh", "true\n");
    let out = lambda_rt(no_bootstrap.path(), &env, &["publish-layer", "--no-attach"]);
    record_bad_input(
        &["publish-layer --no-attach (runtime/ without bootstrap)"],
        &out,
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "runtime/bootstrap` does not exist");

    // The two attaching cases read the missing function (and the layer); nothing was written.
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let lambda = moto.lambda().await;
    assert!(lambda
        .list_layers()
        .send()
        .await
        .unwrap()
        .layers()
        .is_empty());
}
