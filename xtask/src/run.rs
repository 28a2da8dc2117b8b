//! `cargo xtask run`: the demo (see `demo.rs`; root), or with `--api-only` lb-api alone in the
//! foreground with the noop provider.

use crate::{
    setup,
    shell::{self, cargo, step},
};

#[derive(clap::Args)]
pub struct Args {
    /// Address for lb-api to listen on.
    #[arg(long, default_value = "127.0.0.1:9876")]
    bind: String,
    /// Run only lb-api (noop provider, no namespaces, no root needed).
    #[arg(long)]
    api_only: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.api_only {
        return crate::demo::run(&args.bind);
    }
    setup::run(&setup::Args::default())?;
    step(&format!(
        "starting lb-api on http://{}/ (Ctrl-C stops it); try: curl -s http://{}/",
        args.bind, args.bind
    ));
    shell::run(cargo().args([
        "run",
        "--package",
        "lb-api",
        "--",
        "serve",
        "--bind",
        &args.bind,
        "--noauth-project",
        "demo",
    ]))
}
