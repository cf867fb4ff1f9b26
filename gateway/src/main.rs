//! The `ferry` command: parses arguments and hands over to [`ferry::cli`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    ferry::cli::main()
}
