//! Running helper commands (`ip`, servers) with failures that show the command and its stderr.

use std::process::{Command, Output};

/// Runs `program args...`, panicking with the command line and stderr if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = output(program, args);
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `program args...` and returns its output whatever the exit status.
pub fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{program}`: {e} (run `cargo xtask setup`)"))
}

/// Runs a clean-up command; failures are reported on stderr, never panicked on (this runs in
/// `Drop`, possibly while a test is already panicking).
pub fn run_quiet(program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "cleanup: `{program} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("cleanup: cannot start `{program}`: {e}");
            false
        }
    }
}
