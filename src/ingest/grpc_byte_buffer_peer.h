// Access to the C buffer inside a grpc::ByteBuffer, through the friend hook that grpc::ByteBuffer
// declares (grpc::internal::GrpcByteBufferPeer). The C buffer says whether a message arrived
// compressed and with which algorithm, which nothing else in the C++ API tells once gRPC's own
// inflation is turned off; tests use Adopt() to send pre-compressed messages. This is the only
// definition of the class in the program.
#pragma once

#include <grpc/byte_buffer.h>

#include "grpcpp/support/byte_buffer.h"

namespace grpc::internal {

class GrpcByteBufferPeer {
 public:
  explicit GrpcByteBufferPeer(ByteBuffer* buffer) : buffer_(buffer) {}

  // The underlying C buffer (owned by the ByteBuffer), or nullptr when it holds none.
  grpc_byte_buffer* c_buffer() { return buffer_->c_buffer(); }

  // Replaces the contents with `c_buffer`, which the ByteBuffer then owns.
  void Adopt(grpc_byte_buffer* c_buffer) {
    buffer_->Clear();
    *buffer_->c_buffer_ptr() = c_buffer;
  }

 private:
  ByteBuffer* buffer_;
};

}  // namespace grpc::internal
