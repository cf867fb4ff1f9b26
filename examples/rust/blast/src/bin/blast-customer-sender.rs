//! `blast-customer-sender`: the `BlastCustomerSender` worker. Run it under ferry:
//! `ferry run --config examples/rust/blast/demo/customer-sender.toml -- blast-customer-sender`.

use std::process::ExitCode;

use ferry_blast::{CustomerSender, Paths};

#[tokio::main]
async fn main() -> ExitCode {
    let worker = CustomerSender::from_paths(&Paths::from_env());
    match ferry_sdk::serve_from_env(worker).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("blast-customer-sender: {err}");
            ExitCode::FAILURE
        }
    }
}
