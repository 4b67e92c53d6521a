//! Staging deployment zips in S3 (`--s3-bucket`), for zips over Lambda's 50 MB inline limit.
//!
//! Each zip has one fixed key (`<prefix><function>/function.zip`, `<prefix><layer>/layer.zip`) and
//! is uploaded with S3's own SHA-256 checksum, which has the same form as Lambda's CodeSha256, so a
//! run only uploads when the object's content differs — re-running after a failure between the
//! upload and the Lambda call uploads nothing. The skip trusts only that checksum, which S3
//! computes over the bytes it stores: metadata (the `code-sha256` lambda-rt also writes, for
//! people) can be set to anything by whoever can write the key, and trusting it once let a
//! planted zip be deployed as the project's. What Lambda answers is then compared with the zip
//! built here as well (`Upload::verify`), for an object replaced between the two calls. Every S3
//! call carries `ExpectedBucketOwner` (the caller's account, from STS): a bucket that belongs to
//! someone else — a shared one, or a name given up and registered by a stranger — is refused by
//! S3 itself rather than trusted with the code.
//! Lambda copies the object when the function or layer version is made; the object is only a
//! hand-over, so overwriting it later changes nothing that was deployed.

use std::cell::RefCell;

use anyhow::{anyhow, Result};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};
use aws_sdk_s3::Client;

use aws_sdk_s3::error::ProvideErrorMetadata;

use super::clients::Clients;
use super::errors::sdk_failure;
use super::owner;
use crate::output::{human_size, Action, ResourceReport, Ui, Waiting};
use crate::package::Package;
use crate::settings::S3Staging;

/// Object metadata key holding the zip's CodeSha256 (stored as `x-amz-meta-code-sha256`).
pub const SHA_METADATA: &str = "code-sha256";

/// An S3 object Lambda takes a zip from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    /// The object's version when the bucket keeps versions: Lambda is told to take exactly this
    /// one, so an object written to the key after ours cannot be deployed in its place.
    pub version: Option<String>,
}

/// A zip on its way to Lambda: inline in the request, or staged in S3.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    pub package: &'a Package,
    pub s3: Option<S3Object>,
}

impl<'a> Upload<'a> {
    pub fn inline(package: &'a Package) -> Self {
        Upload { package, s3: None }
    }

    /// Shows the upload of an inline zip while the request that carries it is under way (a
    /// staged zip showed its own, on the way to S3).
    /// Checks that what Lambda deployed (the CodeSha256 it answered) is the zip built here. Only
    /// a staged object can differ: someone replaced it between its upload (or the check that it
    /// was already there) and Lambda's copy.
    pub fn verify(&self, what: std::fmt::Arguments<'_>, deployed: Option<&str>) -> Result<()> {
        let expected = self.package.code_sha256.as_str();
        match (deployed, &self.s3) {
            (Some(deployed), Some(object)) if deployed != expected => Err(anyhow!(
                "{what} now holds code with CodeSha256 {deployed}, not {expected} of the zip \
                 built here: s3://{}/{} was replaced between its upload and Lambda's copy. Find \
                 out who else can write to that bucket, then run the command again to deploy \
                 your code",
                object.bucket,
                object.key
            )),
            (Some(deployed), None) if deployed != expected => Err(anyhow!(
                "{what} now holds code with CodeSha256 {deployed}, not {expected} of the zip \
                 sent: run the command again"
            )),
            _ => Ok(()),
        }
    }

    pub fn progress(&self, ui: &Ui) -> Option<Waiting> {
        self.s3.is_none().then(|| {
            ui.waiting(format!(
                "uploading {} to Lambda",
                human_size(self.package.bytes.len() as u64)
            ))
        })
    }
}

/// Gets `package` ready to hand to Lambda: inline without a staging bucket, else staged under
/// the key `key` picks (uploaded only if the object differs).
pub async fn prepare<'p>(
    stager: Option<&Stager<'_>>,
    key: impl FnOnce(&S3Staging) -> String,
    package: &'p Package,
) -> Result<Upload<'p>> {
    let Some(stager) = stager else {
        return Ok(Upload::inline(package));
    };
    let (object, uploaded) = stager.stage(key(stager.staging), package).await?;
    let action = if uploaded {
        Action::Updated
    } else {
        Action::Unchanged
    };
    let report = ResourceReport::new(
        "staged zip",
        format!("s3://{}/{}", object.bucket, object.key),
        action,
    );
    stager.ui.resource(&report, false);
    stager.reports.borrow_mut().push(report);
    Ok(Upload {
        package,
        s3: Some(object),
    })
}

/// Puts zips into the staging bucket, and remembers what it did for the command's report.
pub struct Stager<'a> {
    pub client: &'a Client,
    /// For the caller's account: every S3 call says which account must own the bucket.
    clients: &'a Clients,
    pub staging: &'a S3Staging,
    pub ui: &'a Ui,
    pub reports: RefCell<Vec<ResourceReport>>,
}

impl<'a> Stager<'a> {
    pub fn new(clients: &'a Clients, staging: &'a S3Staging, ui: &'a Ui) -> Self {
        Stager {
            client: &clients.s3,
            clients,
            staging,
            ui,
            reports: RefCell::new(Vec::new()),
        }
    }

    /// The `staged zip` lines of the uploads decided so far (each printed when it happened).
    pub fn take_reports(&self) -> Vec<ResourceReport> {
        self.reports.take()
    }

    /// Makes sure `key` holds exactly `package`: a HeadObject, and a PutObject only when the
    /// object is missing or holds something else. Returns the object and whether it was uploaded.
    pub async fn stage(&self, key: String, package: &Package) -> Result<(S3Object, bool)> {
        let bucket = self.staging.bucket.as_str();
        let current = self.head(&key).await?;
        let stored_sha = current.as_ref().and_then(|head| head.checksum_sha256());
        if stored_sha == Some(package.code_sha256.as_str()) {
            let version = current.and_then(|head| head.version_id().map(str::to_string));
            return Ok((
                S3Object {
                    bucket: bucket.to_string(),
                    key,
                    version,
                },
                false,
            ));
        }
        let key = key.as_str();
        let _waiting = self.ui.waiting(format!(
            "uploading {} to s3://{bucket}/{key}",
            human_size(package.bytes.len() as u64)
        ));
        let put = self
            .client
            .put_object()
            .bucket(bucket)
            .expected_bucket_owner(self.clients.account_id().await?)
            .key(key)
            .content_type("application/zip")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            // Encrypted at rest with S3's own keys, whatever the bucket's default.
            .server_side_encryption(ServerSideEncryption::Aes256)
            .metadata(SHA_METADATA, &package.code_sha256)
            .metadata(owner::OWNER_TAG_KEY, owner::OWNER_TAG_VALUE)
            .body(ByteStream::from(package.bytes.clone()))
            .send()
            .await
            .map_err(|e| {
                self.explain(
                    sdk_failure(format_args!("upload s3://{bucket}/{key}"), &e),
                    e.code(),
                )
            })?;
        let object = S3Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version: put.version_id().map(str::to_string),
        };
        Ok((object, true))
    }

    /// Deletes a staged object that lambda-rt put there (it carries the owner metadata); one
    /// without it is someone else's and left alone.
    pub async fn delete(&self, key: &str, dry_run: bool) -> Result<Action> {
        let bucket = self.staging.bucket.as_str();
        let Some(head) = self.head(key).await? else {
            return Ok(Action::Absent);
        };
        let ours = head
            .metadata()
            .and_then(|m| m.get(owner::OWNER_TAG_KEY))
            .is_some_and(|v| v == owner::OWNER_TAG_VALUE);
        if !ours {
            return Ok(Action::Kept);
        }
        if !dry_run {
            self.client
                .delete_object()
                .bucket(bucket)
                .expected_bucket_owner(self.clients.account_id().await?)
                .key(key)
                .send()
                .await
                .map_err(|e| sdk_failure(format_args!("delete s3://{bucket}/{key}"), &e))?;
        }
        Ok(Action::Deleted)
    }

    /// The object's metadata, or `None` if there is no such object.
    async fn head(&self, key: &str) -> Result<Option<HeadObjectOutput>> {
        let bucket = self.staging.bucket.as_str();
        match self
            .client
            .head_object()
            .bucket(bucket)
            .expected_bucket_owner(self.clients.account_id().await?)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head)),
            // HEAD answers have no body, so a missing object is just a 404.
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            // A HEAD answer has no body, so S3's 403 reaches the SDK without an error code.
            Err(e) => {
                let forbidden = e.raw_response().is_some_and(|r| r.status().as_u16() == 403);
                let code = if forbidden {
                    Some("AccessDenied")
                } else {
                    e.code()
                };
                Err(self.explain(
                    sdk_failure(format_args!("read s3://{bucket}/{key}"), &e),
                    code,
                ))
            }
        }
    }

    /// Adds what to do about the two mistakes people make with a staging bucket, recognised by
    /// S3's error codes.
    fn explain(&self, error: anyhow::Error, code: Option<&str>) -> anyhow::Error {
        let bucket = &self.staging.bucket;
        match code {
            Some("NoSuchBucket") => anyhow!(
                "{error}\nhint: the staging bucket `{bucket}` does not exist: create it in the \
                 function's region (e.g. `aws s3 mb s3://{bucket}`), or pass another --s3-bucket"
            ),
            // S3 answers 403 when ExpectedBucketOwner is not the bucket's owner.
            Some("AccessDenied") => anyhow!(
                "{error}\nhint: S3 refused access to `{bucket}`: lambda-rt only stages zips in a \
                 bucket of the account it deploys to (a bucket of another account could swap the \
                 code), or the credentials lack s3:GetObject/s3:PutObject on it"
            ),
            Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => anyhow!(
                "{error}\nhint: the staging bucket `{bucket}` is in another region; Lambda only \
                 takes code from a bucket in the function's region"
            ),
            _ => error,
        }
    }
}
