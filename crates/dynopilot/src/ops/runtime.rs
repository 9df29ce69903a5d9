//! The small async runtime the operator commands block on.

/// Runs `future` to completion on a single-threaded runtime: one request at a time is all a
/// terminal command needs.
pub fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}
