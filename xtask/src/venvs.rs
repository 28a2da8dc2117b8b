//! The pinned Python venvs that tests use as oracles or peers (Keystone, Octavia's own API),
//! each in `$XDG_CACHE_HOME/lb-xtask/<name>`: checked by an import and the pinned version,
//! (re)made with `python3 -m venv --clear` and pip when that check fails.

use std::{path::PathBuf, process::Command};

use crate::shell::{self, step};

/// One pinned venv.
pub struct PinnedVenv {
    /// Directory name under the cache, also what `setup` reports as missing.
    pub name: &'static str,
    /// Distribution whose version pins the venv, and that version.
    pub distribution: &'static str,
    pub version: &'static str,
    /// Python that must import for the venv to count as usable.
    pub imports: &'static str,
    /// Everything pip installs (the distribution pinned, plus the pins it needs).
    pub packages: &'static [&'static str],
    /// How long an install takes, for the progress line.
    pub takes: &'static str,
}

/// Keystone for the `keystone_auth` test (Python 3.11). Pins beyond keystone itself: passlib
/// 1.7.4 breaks on bcrypt >= 4.1 (`password cannot be longer than 72 bytes`), keystone 26
/// needs oslo.context < 6 (`_domain_id`), and SQLAlchemy 2.1 / oslo.db 18 are newer than it.
pub const KEYSTONE: PinnedVenv = PinnedVenv {
    name: "keystone",
    distribution: "keystone",
    version: "26.0.0",
    imports: "import keystone, waitress",
    packages: &[
        "keystone==26.0.0",
        "waitress==3.0.2",
        "bcrypt==4.0.1",
        "oslo.context==5.6.0",
        "SQLAlchemy==2.0.35",
        "oslo.db==16.0.0",
    ],
    takes: "about 60 s",
};

/// Octavia's own API for lb-api's differential test (`lb-api/tests/octavia_diff.rs`, Python
/// 3.11). Octavia 19.0.0 is the newest release; SQLAlchemy 2.1 is newer than it, and the
/// API-side libraries are pinned so that the oracle does not move under the test.
pub const OCTAVIA: PinnedVenv = PinnedVenv {
    name: "octavia",
    distribution: "octavia",
    version: "19.0.0",
    imports: "import octavia.api.app, octavia.db.models",
    packages: &[
        "octavia==19.0.0",
        "octavia-lib==3.12.0",
        "SQLAlchemy==2.0.35",
        "oslo.db==18.1.1",
        "WSME==0.13.0",
        "pecan==1.8.0",
    ],
    takes: "about 2 minutes",
};

impl PinnedVenv {
    fn dir(&self, cache: &std::path::Path) -> PathBuf {
        cache.join(self.name)
    }

    /// Imports work and the pinned version is the installed one.
    pub fn ok(&self, cache: &std::path::Path) -> bool {
        let dir = self.dir(cache);
        Command::new(dir.join("bin/python"))
            .args(["-c", self.imports])
            .output()
            .is_ok_and(|o| o.status.success())
            && Command::new(dir.join("bin/pip"))
                .args(["show", self.distribution])
                .output()
                .is_ok_and(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .contains(&format!("Version: {}", self.version))
                })
    }

    /// Makes the venv afresh and installs the pinned packages.
    pub fn install(&self, cache: &std::path::Path) -> anyhow::Result<()> {
        make(self.name, &self.dir(cache), self.packages, self.takes)
    }
}

/// Makes a venv at `dir` afresh (`python3 -m venv --clear`) and pip-installs `packages`,
/// announcing it as `what` taking `takes`.
pub fn make(
    what: &str,
    dir: &std::path::Path,
    packages: &[&str],
    takes: &str,
) -> anyhow::Result<()> {
    step(&format!(
        "installing {what} ({}) into {} ({takes})",
        packages.join(", "),
        dir.display(),
    ));
    shell::run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(dir),
    )?;
    shell::run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages),
    )
}
