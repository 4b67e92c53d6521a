//! A project of several functions: `[functions.<name>]` tables in `lambda-rt.toml`, each
//! function's code in `functions/<name>/`. The top level's settings are every function's
//! defaults and a function's table overrides them, key by key; what the functions share — the
//! runtime, its layer, where requests go — is set at the top level only. Each function resolves
//! to its own [`Settings`], as a one-function project does, so every command works on it
//! unchanged.

use std::path::PathBuf;

use anyhow::Result;
use toml::Spanned;

use super::sources::{ConfigFile, FileSettings, Origin};
use super::{location, validate, Settings};
use crate::cli::common::SettingsInput;
use crate::error::UsageError;

/// Where a function of a many-function project keeps its code, relative to the project.
pub fn code_dir(function: &str) -> PathBuf {
    PathBuf::from("functions").join(function)
}

impl FileSettings {
    /// This table's values over `base`'s: a function's table over the top level.
    fn over(&self, base: &FileSettings) -> FileSettings {
        macro_rules! each_key {
            ($($key:ident),* $(,)?) => {
                FileSettings {
                    $($key: self.$key.clone().or_else(|| base.$key.clone()),)*
                    functions: None,
                }
            };
        }
        each_key!(
            function_name,
            role_name,
            role_arn,
            layer_name,
            handler,
            runtime,
            architecture,
            memory,
            timeout,
            description,
            env,
            region,
            profile,
            endpoint_url,
            template,
            deno,
            s3_bucket,
            s3_key,
            log_retention_days,
            policies,
            ephemeral_storage,
            tracing,
            log_format,
            application_log_level,
            system_log_level,
            reserved_concurrency,
            tags,
            layers,
            vpc_subnets,
            vpc_security_groups,
            policy_file,
            tools,
            schedules,
            max_retry_attempts,
            max_event_age,
            on_failure,
        )
    }

    /// The keys of a function's table that belong to the whole project, as written.
    fn project_keys(&self) -> Vec<&'static str> {
        let set = [
            ("function-name", self.function_name.is_some()),
            ("layer-name", self.layer_name.is_some()),
            ("template", self.template.is_some()),
            ("deno", self.deno.is_some()),
            ("tools", self.tools.is_some()),
            ("s3-bucket", self.s3_bucket.is_some()),
            ("s3-key", self.s3_key.is_some()),
            ("region", self.region.is_some()),
            ("profile", self.profile.is_some()),
            ("endpoint-url", self.endpoint_url.is_some()),
            ("functions", self.functions.is_some()),
        ];
        set.into_iter()
            .filter(|(_, given)| *given)
            .map(|(key, _)| key)
            .collect()
    }
}

/// The settings of every function of the project (one, unless it has `[functions.*]` tables),
/// narrowed to the `--only` ones. Each of those that leaves others of the project alone knows
/// them ([`Settings::layer_shared_with`]).
pub fn resolve_project(input: &SettingsInput) -> Result<Vec<Settings>> {
    let located = location::locate(input.project.project_dir.as_deref())?;
    let file = ConfigFile::load(&located.dir)?;
    let mut all = match file.settings.functions {
        Some(_) => resolve_all(input, &file, located.dir)?,
        None => vec![Settings::merge(input, &file, located.dir)?],
    };
    for settings in &mut all {
        settings.project_found_above = located.above;
    }
    let only = &input.project.only;
    if let Some(unknown) = only
        .iter()
        .find(|name| !all.iter().any(|s| &&s.function_name == name))
    {
        let names: Vec<&str> = all.iter().map(|s| s.function_name.as_str()).collect();
        return Err(UsageError(format!(
            "--only {unknown}: the project has no such function; its functions are {}",
            names.join(", ")
        ))
        .into());
    }
    if !only.is_empty() {
        let left: Vec<String> = all
            .iter()
            .map(|s| s.function_name.clone())
            .filter(|name| !only.contains(name))
            .collect();
        all.retain(|s| only.contains(&s.function_name));
        for settings in &mut all {
            settings.layer_shared_with = left.clone();
        }
    }
    Ok(all)
}

/// Every function of a many-function project (`file` has `[functions.*]`), resolved and checked
/// like a one-function project's settings, in name order.
pub fn resolve_all(
    input: &SettingsInput,
    file: &ConfigFile,
    project_dir: PathBuf,
) -> Result<Vec<Settings>> {
    let Some(tables) = &file.settings.functions else {
        return Ok(Vec::new());
    };
    if let Some(name) = &input.project.function_name {
        return Err(UsageError(format!(
            "--function-name {name}: this project has several functions ([functions.*] in \
             lambda-rt.toml); pick some with --only NAME instead"
        ))
        .into());
    }
    if tables.get_ref().is_empty() {
        return Err(UsageError(format!(
            "[functions] (at {}) lists no function: add a [functions.<name>] table, or remove \
             [functions] for a one-function project",
            file.origin(tables.span())
        ))
        .into());
    }
    if let Some(name) = &file.settings.function_name {
        return Err(UsageError(format!(
            "function-name `{}` (at {}): in a project with [functions.*] each table names its \
             function; remove the key",
            name.get_ref(),
            file.origin(name.span())
        ))
        .into());
    }
    // The runtime layer is the project's: named after the project unless it says otherwise.
    let mut top = file.settings.clone();
    if top.layer_name.is_none() {
        let project = project_dir
            .canonicalize()
            .ok()
            .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let layer = format!("{project}-layer");
        validate::layer_name(&layer, &Origin::Default).map_err(|_| {
            UsageError(format!(
                "the project directory's name `{project}` does not make a layer name: set \
                 layer-name in lambda-rt.toml (the runtime layer every function shares)"
            ))
        })?;
        top.layer_name = Some(Spanned::new(0..0, layer));
    }
    let mut all = Vec::new();
    for (name, table) in tables.get_ref() {
        let project_keys = table.project_keys();
        if let Some(key) = project_keys.first() {
            return Err(UsageError(format!(
                "`{key}` in [functions.{name}] (at {}): it is the whole project's, shared by \
                 every function; set it at the top of lambda-rt.toml",
                file.origin(tables.span())
            ))
            .into());
        }
        validate::function_name(name, &file.origin(tables.span()))?;
        let mut settings = table.over(&top);
        settings.function_name = Some(Spanned::new(tables.span(), name.clone()));
        let resolved = Settings::merge(input, &file.with_settings(settings), project_dir.clone())?;
        all.push(Settings {
            code_dir: code_dir(name),
            ..resolved
        });
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Vec<Settings>> {
        let dir = super::super::bash_project();
        let file = ConfigFile::parse(text.to_string()).unwrap();
        resolve_all(&SettingsInput::default(), &file, dir.path().to_path_buf())
    }

    #[test]
    fn each_table_overrides_the_top_level_key_by_key() {
        let all = resolve(
            "layer-name = \"jobs\"\nmemory = 256\ntimeout = 9\n\
             [functions.b]\nmemory = 512\n\
             [functions.b.schedules.nightly]\nexpression = \"rate(1 day)\"\n\
             [functions.a]\n",
        )
        .unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.function_name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let (a, b) = (&all[0], &all[1]);
        assert_eq!((a.function.memory_mb, a.function.timeout_seconds), (256, 9));
        assert_eq!((b.function.memory_mb, b.function.timeout_seconds), (512, 9));
        assert_eq!(a.code_dir, PathBuf::from("functions/a"));
        assert!(a.schedules.is_empty());
        assert_eq!(b.schedules.len(), 1);
        assert_eq!(b.schedules[0].aws_name("b"), "b-nightly");
        assert!(all.iter().all(|s| s.layer_name == "jobs"));
        assert_eq!(
            a.role,
            crate::settings::RoleChoice::Managed("a-role".into())
        );
    }

    #[test]
    fn what_the_functions_share_is_set_at_the_top_only() {
        for (text, said) in [
            (
                "[functions.a]\ntools = [\"jq\"]\n",
                "`tools` in [functions.a]",
            ),
            (
                "[functions.a]\nfunction-name = \"x\"\n",
                "`function-name` in [functions.a]",
            ),
            (
                "function-name = \"x\"\n[functions.a]\n",
                "each table names its function",
            ),
            ("[functions]\n", "lists no function"),
        ] {
            let error = resolve(&format!("layer-name = \"jobs\"\n{text}")).unwrap_err();
            assert!(error.to_string().contains(said), "{text}: {error}");
        }
    }
}
