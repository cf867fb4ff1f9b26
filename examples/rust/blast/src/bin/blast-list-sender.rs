//! `blast-list-sender`: the `BlastCustomerListSender` worker. Run it under ferry:
//! `ferry run --config examples/rust/blast/demo/list-sender.toml -- blast-list-sender`.

use std::process::ExitCode;

use ferry_blast::{ListSender, Paths};

#[tokio::main]
async fn main() -> ExitCode {
    let worker = ListSender::from_paths(&Paths::from_env());
    match ferry_sdk::serve_from_env(worker).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("blast-list-sender: {err}");
            ExitCode::FAILURE
        }
    }
}
