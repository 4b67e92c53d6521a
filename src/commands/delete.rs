//! `lambda-rt delete`: the function, its log group (unless `--keep-logs`), the versions of its
//! runtime layer that lambda-rt published (unless `--keep-layer`), and the role only if lambda-rt
//! created it, and with `--s3-bucket` the zips staged for them. Whatever is already gone is reported as absent; a second run exits 0.

use anyhow::Result;

use crate::aws::lambda::Lambda;
use crate::aws::layer::Layers;
use crate::aws::{iam, logs, Clients, Timing};
use crate::cli::{DeleteArgs, SettingsInput};
use crate::output::{Action, Report, ResourceReport, Ui};
use crate::settings::{RoleChoice, Settings};

pub async fn run(input: &SettingsInput, args: &DeleteArgs, ui: &Ui) -> Result<i32> {
    let settings = Settings::resolve(input)?;
    let clients = Clients::load(&settings.aws).await?;
    let dry_run = args.dry_run;
    let lambda = Lambda {
        client: &clients.lambda,
        timing: Timing::default(),
        ui,
    };
    let name = &settings.function_name;
    let mut resources = Vec::new();

    let report = lambda.delete(name, dry_run).await?;
    ui.resource(&report, dry_run);
    resources.push(report);

    let report = if args.keep_logs {
        ResourceReport::new("log group", logs::log_group_name(name), Action::Kept)
            .note("--keep-logs")
    } else {
        logs::delete_log_group(&clients.logs, name, dry_run).await?
    };
    ui.resource(&report, dry_run);
    resources.push(report);

    if args.keep_layer {
        let report =
            ResourceReport::new("layer", &settings.layer_name, Action::Kept).note("--keep-layer");
        ui.resource(&report, dry_run);
        resources.push(report);
    } else {
        let layers = Layers {
            client: &clients.lambda,
            max_attempts: clients.max_attempts,
        };
        for report in layers.delete_all(&settings.layer_name, dry_run).await? {
            ui.resource(&report, dry_run);
            resources.push(report);
        }
    }

    // The zips staged for this function and its layer (the bucket itself is the user's).
    if let Some(stager) = super::stager(&clients, &settings, ui) {
        let mut keys = vec![stager.staging.function_key(name)];
        if !args.keep_layer {
            keys.push(stager.staging.layer_key(&settings.layer_name));
        }
        for key in keys {
            let action = if stager.delete(&key, dry_run).await? {
                Action::Deleted
            } else {
                Action::Absent
            };
            let report = ResourceReport::new(
                "staged zip",
                format!("s3://{}/{key}", stager.staging.bucket),
                action,
            );
            ui.resource(&report, dry_run);
            resources.push(report);
        }
    }

    let report = match &settings.role {
        RoleChoice::Existing(arn) => ResourceReport::new("role", arn, Action::Kept)
            .arn(Some(arn))
            .note("given by --role-arn; not managed by lambda-rt"),
        RoleChoice::Managed(role_name) => {
            iam::delete_role(&clients.iam, role_name, dry_run).await?
        }
    };
    ui.resource(&report, dry_run);
    resources.push(report);

    ui.finish(&Report {
        command: "delete",
        dry_run,
        resources,
        code_sha256: None,
        layer: None,
    })?;
    Ok(crate::exit_code::SUCCESS)
}
