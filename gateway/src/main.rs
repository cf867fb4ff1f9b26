//! The `ferry` command: parses arguments and hands over to [`ferry::cli`].
#![forbid(unsafe_code)]

/// mimalloc: ferry allocates many small, short-lived buffers per message.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ferry::cli::main()
}
