//! Blocking work that runs on the thread that asked for it.

/// Runs `work`, which blocks (a commit waiting for the disk, decoding a large package), on
/// this thread: on a multi-thread tokio runtime the thread's other tasks move to another worker
/// meanwhile (`block_in_place`); elsewhere (a current-thread runtime, no runtime) it just runs.
/// Unlike `spawn_blocking`, `work` may borrow, and no thread hop is paid for short work.
pub fn block_here<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
