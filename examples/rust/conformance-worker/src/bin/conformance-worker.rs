//! `conformance-worker`: serves the conformance reference behaviour on `FERRY_WORKER_ADDR`
//! (default `127.0.0.1:50051`). Check it with `ferry conformance --worker 127.0.0.1:50051`.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match ferry_sdk::serve_from_env(ferry_conformance_worker::Reference).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("conformance-worker: {err}");
            ExitCode::FAILURE
        }
    }
}
