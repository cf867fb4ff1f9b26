//! The codec every generated client and server uses: tonic-prost's protobuf codec with
//! buffers sized for ferry's messages. tonic starts each call's encode and decode buffer
//! at 8 KiB; a `HandleRequest` with a small payload is a few hundred bytes, so two 8 KiB
//! allocations per call were most of the bytes ferry and the SDKs allocated per message
//! (docs/PERFORMANCE.md). A larger message still fits: the buffers grow as needed.

use std::marker::PhantomData;

use tonic::codec::BufferSettings;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The first size of a call's encode and decode buffer.
pub const BUFFER_BYTES: usize = 1024;
/// tonic's own: how much a streaming encoder gathers before it yields.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// tonic-prost's codec with [`BUFFER_BYTES`] buffers.
#[derive(Debug, Clone)]
pub struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

fn settings() -> BufferSettings {
    BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD)
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(settings())
    }
}
