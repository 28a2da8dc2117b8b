//! Root detection for tests that need it: skip loudly outside CI, fail under CI.

/// Whether the process runs with uid 0.
#[must_use]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether we run under CI (`CI=true` or `CI=1`).
#[must_use]
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Returns true if the test may go on. Without root it prints why the test is skipped and
/// returns false; under CI it panics instead, because CI must run every test.
#[must_use]
pub fn check_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        !under_ci(),
        "{test} needs root (network namespaces, BPF) and CI must run it: run the suite as root"
    );
    eprintln!(
        "SKIPPED {test}: needs root (network namespaces, BPF); run `cargo xtask test` as root"
    );
    false
}

/// Returns early from the calling test when it cannot run without root (see [`check_root`]).
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::root::check_root(&format!(
            "{}::{}",
            module_path!(),
            ::std::thread::current().name().unwrap_or("?")
        )) {
            return;
        }
    };
}
