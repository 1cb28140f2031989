//! Cutting a running stream whose key was revoked or whose user was disabled (docs/security.md).

use super::settlement::StreamSettler;

/// Settles what the stream produced so far (status `revoked`) and returns the error that ends the
/// client's body: the answer is visibly cut, not silently truncated.
pub async fn cut(settler: &mut StreamSettler) -> std::io::Error {
    settler.meter.finish();
    if !settler.is_settled()
        && let Err(e) = settler.settle("revoked").await
    {
        tracing::error!(error = %e, "settlement of a revoked stream failed");
    }
    std::io::Error::other("the API key was revoked or its user disabled")
}
