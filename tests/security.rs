//! What other users of the machine can reach (issue 26): the local environment's files.

mod common;

use common::*;

/// The temporary directory holding the function's code and layer is its user's alone.
#[test]
fn the_local_environment_is_readable_by_its_user_only() {
    let project = Project::new().with(
        "function/function.sh",
        "handler() {\n  stat -c %a \"$(dirname \"$LAMBDA_TASK_ROOT\")\"\n}\n",
    );
    let out = lambda_rt(project.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "700", "{}", stderr(&out));
}
