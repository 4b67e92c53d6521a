//! `lambda-rt create`: ensure the execution role, then ensure the function. On an existing function
//! it converges code and configuration exactly like `update`; a second run makes no write call.

use anyhow::Result;

use crate::aws::lambda::{FunctionSpec, Lambda};
use crate::aws::s3::{self, Upload};
use crate::aws::{iam, partition, Clients, Timing};
use crate::cli::{DeployArgs, SettingsInput};
use crate::output::{Action, Report, ResourceReport, Ui};
use crate::package::FunctionCode;
use crate::project;
use crate::settings::{RoleChoice, Settings};

pub async fn run(input: &SettingsInput, args: &DeployArgs, ui: &Ui) -> Result<i32> {
    let settings = Settings::resolve(input)?;
    project::check_project_files(&settings)?;
    let code = FunctionCode::build(&settings)?;
    let clients = Clients::load(&settings.aws).await?;
    let report = create(
        &clients,
        &settings,
        &code,
        args.dry_run,
        Timing::default(),
        ui,
    )
    .await?;
    ui.finish(&report)?;
    Ok(crate::exit_code::SUCCESS)
}

/// The create flow, separated from argument handling so tests can drive it with mocked clients.
pub async fn create(
    clients: &Clients,
    settings: &Settings,
    code: &FunctionCode,
    dry_run: bool,
    timing: Timing,
    ui: &Ui,
) -> Result<Report> {
    let lambda = Lambda {
        client: &clients.lambda,
        timing,
        ui,
    };
    let stager = super::stager(clients, settings, ui);
    let name = &settings.function_name;
    let remote = lambda.get(name).await?;
    // A new function gets the runtime in its code; an existing one keeps its layout (see
    // `converge_function`). The new function's zip is built (and staged in S3) before the role is
    // made, so a project over Lambda's limits or a missing bucket changes nothing in IAM.
    let new_function_code = match remote {
        Some(_) => None,
        None if dry_run => Some(Upload::inline(code.package(false)?)),
        None => {
            let package = code.package(false)?;
            Some(s3::prepare(stager.as_ref(), |s| s.function_key(name), package).await?)
        }
    };

    let mut resources = Vec::new();
    let (role_arn, role_just_created) = match &settings.role {
        RoleChoice::Existing(arn) => {
            let report = ResourceReport::new("role", arn, Action::Kept)
                .arn(Some(arn))
                .note("given by --role-arn; not managed by lambda-rt");
            ui.resource(&report, dry_run);
            resources.push(report);
            (Some(arn.clone()), false)
        }
        RoleChoice::Managed(name) => {
            let ensured =
                iam::ensure_role(&clients.iam, name, partition(&clients.region), dry_run).await?;
            ui.resource(&ensured.report, dry_run);
            resources.push(ensured.report);
            (ensured.arn, ensured.just_created)
        }
    };

    let (report, code_sha256) = match (remote, role_arn, new_function_code) {
        (None, Some(role_arn), Some(upload)) if !dry_run => {
            let spec = FunctionSpec::new(settings, role_arn);
            let arn = lambda.create(&spec, &upload, role_just_created).await?;
            let report = ResourceReport::new("function", name, Action::Created).arn(Some(arn));
            (report, upload.package.code_sha256.clone())
        }
        (None, _, upload) => (
            ResourceReport::new("function", name, Action::Created),
            upload
                .map(|u| u.package.code_sha256.clone())
                .unwrap_or_default(),
        ),
        (Some(remote), role_arn, _) => {
            // In a dry run that would create the role, compare against the role's future name.
            let role_arn =
                role_arn.unwrap_or_else(|| remote.role().unwrap_or_default().to_string());
            let spec = FunctionSpec::new(settings, role_arn);
            super::converge_function(
                &lambda,
                stager.as_ref(),
                &remote,
                &spec,
                code,
                &settings.layer_name,
                dry_run,
            )
            .await?
        }
    };
    ui.resource(&report, dry_run);
    resources.push(report);
    resources.extend(super::staged_reports(stager.as_ref()));
    Ok(Report {
        command: "create",
        dry_run,
        resources,
        code_sha256: Some(code_sha256),
        layer: None,
    })
}
