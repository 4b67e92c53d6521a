//! Reading every page of a list. Lists are read to the end, never assumed to fit one page (AWS may
//! answer one item a page); an error on any page fails the whole read.

use anyhow::Result;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::{is_not_found, sdk_failure, MissingResource};

type Pages<T, E> = PaginationStream<Result<T, SdkError<E, HttpResponse>>>;

/// Every item of every page; an error fails with `failed to <what>: …`.
pub async fn every_item<T, E>(
    mut pages: Pages<T, E>,
    what: std::fmt::Arguments<'_>,
) -> Result<Vec<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        items.push(item.map_err(|e| sdk_failure(what, &e))?);
    }
    Ok(items)
}

/// Every item of a list that belongs to a resource; none when the resource does not exist.
pub async fn every_item_if_exists<T, E>(
    mut pages: Pages<T, E>,
    what: std::fmt::Arguments<'_>,
) -> Result<Vec<T>>
where
    E: ProvideErrorMetadata + MissingResource + std::error::Error + 'static,
{
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(e) if is_not_found(&e) => break,
            Err(e) => return Err(sdk_failure(what, &e)),
        }
    }
    Ok(items)
}
