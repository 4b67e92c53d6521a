//! Every list lambda-rt reads, under one-item pages (issue 33): with two items or more, each
//! command that reads a list must follow it to its last page — a list read as one page leaves a
//! layer version behind, lists half the versions, or keeps an old alias. (The role's three lists
//! are in aws_realism.rs, the log groups in log_group.rs.)

use crate::common::proxy::Realism;
use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn layer_versions_function_versions_and_aliases_are_read_to_their_last_page() {
    let aws = Aws::with(Realism::short());
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    let moto = aws.moto.lambda().await;
    assert_exit(&run(&["create", "--publish", "--alias", "one"]), 0);

    // Three layer versions (runtime/ changed between them).
    for n in 0..3 {
        project.write(
            "runtime/bootstrap",
            &format!(
                "{}\n# layer {n}\n",
                std::fs::read_to_string(project.path().join("runtime/bootstrap")).unwrap()
            ),
        );
        assert_exit(&run(&["publish-layer"]), 0);
    }
    assert_eq!(layer_versions(&moto, "bash-runtime-layer").await, [1, 2, 3]);

    // A second version and alias: both listed, on pages of one.
    project.write("function/function.sh", "handler () { printf two; }\n");
    assert_exit(&run(&["update", "--publish", "--alias", "two"]), 0);
    let out = run(&["versions", "--output", "json"]);
    assert_exit(&out, 0);
    let listed = listed_versions(&out);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].1, ["one"], "{listed:?}");
    assert_eq!(listed[1].1, ["two"], "{listed:?}");
    // In sync: status read every list to its end.
    assert_exit(&run(&["status"]), 0);

    // `--keep 1` keeps the newest and every version an alias points at: both, found on page 2.
    project.write("function/function.sh", "handler () { printf three; }\n");
    assert_exit(&run(&["update", "--publish", "--keep", "1"]), 0);
    let out = run(&["versions", "--output", "json"]);
    assert_eq!(listed_versions(&out).len(), 3, "{}", stdout(&out));

    // `delete` leaves no layer version of lambda-rt's, though they come one page at a time.
    assert_exit(&run(&["delete"]), 0);
    assert_eq!(
        layer_versions(&moto, "bash-runtime-layer").await,
        Vec::<i64>::new()
    );
}
