//! `cargo xtask run`: builds and starts the service in the foreground.
//!
//! Today that is lb-api alone on 127.0.0.1:9876; the full demo (agent, namespaces, members)
//! arrives with the controller.

use crate::{
    setup,
    shell::{self, cargo, step},
};

#[derive(clap::Args)]
pub struct Args {
    /// Address for lb-api to listen on.
    #[arg(long, default_value = "127.0.0.1:9876")]
    bind: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
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
    ]))
}
