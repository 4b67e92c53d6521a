//! A role that can do real work (issue 27): the project's `policies` go on the role lambda-rt
//! manages beside the basic execution policy, exactly those — one removed from the project is
//! detached, one attached by hand is drift that `update` removes — and a policy that does not exist
//! or cannot go on the role is refused before anything is written. The real binary against moto
//! (with AWS's managed policies loaded) behind the realism proxy's one-item pages.

use crate::common::proxy::Realism;
use crate::common::*;

const ROLE: &str = "bash-runtime-role";
const BASIC: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

/// The managed policies attached to `role`, sorted.
async fn attached(aws: &Aws, role: &str) -> Vec<String> {
    let listed = aws
        .moto
        .iam()
        .await
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let mut arns: Vec<String> = listed
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    arns.sort();
    arns
}

/// A customer managed policy in moto's account; its ARN.
async fn customer_policy(aws: &Aws, name: &str) -> String {
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"*"}]}"#;
    let created = aws
        .moto
        .iam()
        .await
        .create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap();
    created.policy().unwrap().arn().unwrap().to_string()
}

fn sorted(arns: &[&str]) -> Vec<String> {
    let mut arns: Vec<String> = arns.iter().map(|a| a.to_string()).collect();
    arns.sort();
    arns
}

#[tokio::test(flavor = "multi_thread")]
async fn the_role_holds_exactly_the_projects_policies() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Default::default()
    });
    let table_writer = customer_policy(&aws, "table-writer").await;
    let project = Project::new().with(
        "lambda-rt.toml",
        &format!("policies = [\"AmazonS3ReadOnlyAccess\", \"{table_writer}\"]\n"),
    );
    let env = aws.env();
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "attach AmazonS3ReadOnlyAccess");
    assert_eq!(
        attached(&aws, ROLE).await,
        sorted(&[BASIC, S3_READ, &table_writer])
    );

    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // One removed from the project: only it is detached.
    project.write(
        "lambda-rt.toml",
        &format!("policies = [\"{table_writer}\"]\n"),
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["iam:DetachRolePolicy"]
    );
    assert_eq!(attached(&aws, ROLE).await, sorted(&[BASIC, &table_writer]));

    // One attached by hand: drift, then detached by `update`.
    aws.moto
        .iam()
        .await
        .attach_role_policy()
        .role_name(ROLE)
        .policy_arn(S3_READ)
        .send()
        .await
        .unwrap();
    assert_drift(
        project.path(),
        &env,
        &["detach AmazonS3ReadOnlyAccess (attached outside lambda-rt)"],
    );
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    assert_eq!(attached(&aws, ROLE).await, sorted(&[BASIC, &table_writer]));
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    // `delete` takes the role; the customer's policy stays.
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    let iam = aws.moto.iam().await;
    assert!(iam.get_role().role_name(ROLE).send().await.is_err());
    assert!(iam
        .get_policy()
        .policy_arn(&table_writer)
        .send()
        .await
        .is_ok());
}

/// A policy IAM does not know: exit 2, named, nothing written (not even the role).
#[tokio::test(flavor = "multi_thread")]
async fn a_policy_that_does_not_exist_is_refused_before_any_write() {
    let aws = Aws::start();
    let project = Project::new().with("lambda-rt.toml", "policies = [\"AmazonS3ReadOnlyAcess\"]\n");
    aws.start_counting();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "policy `arn:aws:iam::aws:policy/AmazonS3ReadOnlyAcess` does not exist",
    );
    record_bad_input(&["create (policies = [\"AmazonS3ReadOnlyAcess\"])"], &out);
    let counts = aws.counted();
    assert_eq!(counts.writes(), Vec::<String>::new());
    assert_eq!(counts.get("iam:GetPolicy"), 1, "{counts:?}");
}

/// Shapes no policy has, and policies for a role lambda-rt does not own: exit 2 before any request
/// (or, for a role found to be someone else's, before any write).
#[tokio::test(flavor = "multi_thread")]
async fn policies_that_cannot_go_on_the_role_are_refused() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    aws.start_counting();
    assert_usage_errors(
        project.path(),
        &env,
        &[
            (
                &["create", "--policy", "bad name!"][..],
                "invalid policy `bad name!` (from --policy)",
            ),
            (
                &["create", "--policy", "arn:aws:iam::123:policy/x"][..],
                "invalid policy `arn:aws:iam::123:policy/x` (from --policy)",
            ),
            (
                &[
                    "create",
                    "--policy",
                    "AmazonS3ReadOnlyAccess",
                    "--role-arn",
                    "arn:aws:iam::123456789012:role/mine",
                ][..],
                "which lambda-rt never changes",
            ),
        ],
    );
    aws.assert_no_requests("refused policies");

    // A same-named role someone else made.
    aws.moto
        .iam()
        .await
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .unwrap();
    aws.start_counting();
    let out = lambda_rt(
        project.path(),
        &env,
        &["create", "--policy", "AmazonS3ReadOnlyAccess"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "was not created by lambda-rt");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}

const READ_BUCKET: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::nightly/*"}]}"#;

/// The role's inline policies: name and document (decoded), sorted by name.
async fn inline(aws: &Aws) -> Vec<(String, serde_json::Value)> {
    let iam = aws.moto.iam().await;
    let names = iam
        .list_role_policies()
        .role_name(ROLE)
        .send()
        .await
        .unwrap();
    let mut policies = Vec::new();
    for name in names.policy_names() {
        let policy = iam
            .get_role_policy()
            .role_name(ROLE)
            .policy_name(name)
            .send()
            .await
            .unwrap();
        let document = urlencoding::decode(policy.policy_document()).unwrap();
        policies.push((name.clone(), serde_json::from_str(&document).unwrap()));
    }
    policies.sort_by(|a, b| a.0.cmp(&b.0));
    policies
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_file_is_the_roles_one_inline_policy() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Default::default()
    });
    let project = Project::new()
        .with("lambda-rt.toml", "policy-file = \"policy.json\"\n")
        .with("policy.json", READ_BUCKET);
    let env = aws.env();
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 0);
    let wanted: serde_json::Value = serde_json::from_str(READ_BUCKET).unwrap();
    assert_eq!(
        inline(&aws).await,
        [("lambda-rt-policy-file".to_string(), wanted.clone())]
    );
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // An edit is one PutRolePolicy; an inline policy put by hand is drift and goes.
    let edited = READ_BUCKET.replace("nightly/*", "nightly/in/*");
    project.write("policy.json", &edited);
    aws.moto
        .iam()
        .await
        .put_role_policy()
        .role_name(ROLE)
        .policy_name("by-hand")
        .policy_document(READ_BUCKET)
        .send()
        .await
        .unwrap();
    assert_drift(
        project.path(),
        &env,
        &[
            "put inline policy lambda-rt-policy-file (policy-file)",
            "delete inline policy by-hand (put outside lambda-rt)",
        ],
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["iam:DeleteRolePolicy", "iam:PutRolePolicy"]
    );
    let edited: serde_json::Value = serde_json::from_str(&edited).unwrap();
    assert_eq!(
        inline(&aws).await,
        [("lambda-rt-policy-file".to_string(), edited)]
    );

    // Without the file in the project, the policy goes.
    project.write("lambda-rt.toml", "");
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["iam:DeleteRolePolicy"]
    );
    assert!(inline(&aws).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_file_that_is_not_a_policy_is_refused_before_any_request() {
    let aws = Aws::start();
    let project = Project::new()
        .with("not-json.json", "{\"Statement\": [")
        .with(
            "no-effect.json",
            r#"{"Statement": [{"Action": "s3:*", "Resource": "*"}]}"#,
        );
    aws.start_counting();
    for (file, message) in [
        (
            "not-json.json",
            "the policy file `not-json.json` (from --policy-file) is not JSON",
        ),
        (
            "no-effect.json",
            "is not an IAM policy: it needs a `Statement`",
        ),
        (
            "missing.json",
            "cannot read the policy file `missing.json` (from --policy-file)",
        ),
    ] {
        let args = ["create", "--policy-file", file];
        let out = lambda_rt(project.path(), &aws.env(), &args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, message);
        record_bad_input(&args, &out);
    }
    aws.assert_no_requests("refused policy files");
}
