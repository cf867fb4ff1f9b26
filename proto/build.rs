//! Compiles `ferry/v1/*.proto` into tonic client and server code.
//!
//! Uses `protox` (a pure-Rust protobuf compiler) so that building needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "ferry/v1/message.proto",
        "ferry/v1/worker.proto",
        "ferry/v1/gateway.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    tonic_prost_build::configure()
        .bytes(".ferry.v1")
        // Buffers sized for ferry's messages (src/codec.rs).
        .codec_path("crate::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
