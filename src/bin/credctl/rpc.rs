//! What every command does around its gRPC calls: turn a failed call into
//! credctl's error message, and follow page tokens.

pub(crate) fn status_error(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// Follows page tokens to the end: `page(token)` fetches one page and
/// returns its items and the next token (empty on the last page).
pub(crate) async fn all_pages<T, Fut>(mut page: impl FnMut(String) -> Fut) -> Result<Vec<T>, String>
where
    Fut: std::future::Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (batch, next) = page(token).await.map_err(status_error)?;
        items.extend(batch);
        if next.is_empty() {
            return Ok(items);
        }
        token = next;
    }
}
