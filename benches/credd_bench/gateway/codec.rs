//! The lean gRPC codec of 6a's load generator: requests go out as bytes
//! encoded once, and of the `CheckResponse` only `status.code` is decoded
//! (prost skips the rest without allocating).

use bytes::{BufMut, Bytes};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, EncodeBuf, Encoder};

/// Bytes out, the answer's status in.
#[derive(Default)]
pub(super) struct PreEncoded;

/// `CheckResponse` with only its `status` (field 1).
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct CheckStatus {
    #[prost(message, optional, tag = "1")]
    status: Option<RpcCode>,
}

/// `google.rpc.Status` with only its `code` (field 1).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcCode {
    #[prost(int32, tag = "1")]
    code: i32,
}

impl CheckStatus {
    /// OK: Envoy lets the request through.
    pub(super) fn allowed(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.code == 0)
    }
}

pub(super) struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = CheckStatus;
    type Encoder = BytesEncoder;
    type Decoder = tonic_prost::ProstDecoder<CheckStatus>;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::new(BufferSettings::default())
    }
}
