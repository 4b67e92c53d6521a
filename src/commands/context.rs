//! One context per run: the settings resolved once from flags, `LAMBDA_RT_*`, `lambda-rt.toml`
//! and defaults; what the user sees ([`Ui`]); how long to wait for AWS ([`Timing`]); and the AWS
//! clients, loaded on first use (the local commands never load them) and shared by every call.

use anyhow::Result;
use tokio::sync::OnceCell;

use crate::aws::clients::Clients;
use crate::aws::lambda::Lambda;
use crate::aws::layer::Layers;
use crate::aws::poll::Timing;
use crate::aws::s3::Stager;
use crate::output::{ResourceReport, Ui};
use crate::settings::Settings;

pub struct Context {
    pub settings: Settings,
    pub ui: Ui,
    pub timing: Timing,
    clients: OnceCell<Clients>,
}

impl Context {
    /// The context of one run. A project found above the current directory is named first, so
    /// nobody wonders which project `cd function && lambda-rt update` acted on.
    pub fn new(settings: Settings, ui: Ui) -> Self {
        name_project_found_above(&settings, &ui);
        Context {
            settings,
            ui,
            timing: Timing::default(),
            clients: OnceCell::new(),
        }
    }

    /// The context of one function in a run over several: the run's AWS clients, shared (`None`
    /// for a command that makes no AWS call).
    pub fn with_clients(settings: Settings, ui: Ui, clients: Option<Clients>) -> Self {
        Context {
            settings,
            ui,
            timing: Timing::default(),
            clients: OnceCell::new_with(clients),
        }
    }

    /// Stops a command that reads a function's history (versions, aliases, logs) when the
    /// function was never created, saying so instead of a raw "not found" from a later read.
    pub async fn require_function_exists(&self) -> Result<()> {
        let name = &self.settings.function_name;
        let lambda = self.lambda(self.clients().await?);
        if lambda.get(name).await?.is_none() {
            return Err(anyhow::anyhow!(
                "function `{name}` does not exist: run `lambda-rt create` first"
            ));
        }
        Ok(())
    }

    /// The AWS clients, loaded on the first call. Before the first request, the run names what
    /// the project file chose about where requests go (profile, endpoint, staging bucket).
    pub async fn clients(&self) -> Result<&Clients> {
        self.clients
            .get_or_try_init(|| async {
                let chosen = &self.settings.aws.chosen_by_project_file;
                if !chosen.is_empty() {
                    self.ui
                        .notice(&format!("from lambda-rt.toml: {}", chosen.join(", ")));
                }
                Clients::load(&self.settings.aws).await
            })
            .await
    }

    /// The Lambda handle, with this run's timing and output.
    pub fn lambda<'a>(&'a self, clients: &'a Clients) -> Lambda<'a> {
        Lambda::new(clients, self.timing, &self.ui)
    }

    /// The layer handle.
    pub fn layers<'a>(&self, clients: &'a Clients) -> Layers<'a> {
        Layers::new(clients)
    }

    /// The stager for `--s3-bucket`, if the project stages its zips in S3.
    pub fn stager<'a>(&'a self, clients: &'a Clients) -> Option<Stager<'a>> {
        self.settings
            .s3
            .as_ref()
            .map(|staging| Stager::new(clients, staging, &self.ui))
    }
}

/// The `staged zip` lines for the command's JSON report (text output printed them already).
pub fn staged_reports(stager: Option<&Stager<'_>>) -> Vec<ResourceReport> {
    stager.map(Stager::take_reports).unwrap_or_default()
}

/// Names the project when it was found above the current directory, so nobody wonders which
/// project `cd function && lambda-rt update` acted on.
pub fn name_project_found_above(settings: &Settings, ui: &Ui) {
    if settings.project_found_above {
        let dir = settings.project_dir.canonicalize();
        let dir = dir.as_deref().unwrap_or(&settings.project_dir);
        ui.info(&format!("project: {}", dir.display()));
    }
}
