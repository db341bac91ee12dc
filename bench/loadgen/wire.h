// A minimal protobuf wire-format reader: walks the fields of an encoded message without parsing it
// into objects, so the load generator can find byte offsets inside its own pre-encoded requests
// and read the few fields it needs from replies (google.rpc.RetryInfo).
//
//   WireReader reader(bytes);
//   while (reader.Next()) {
//     if (reader.field() == 1 && reader.wire_type() == WireReader::kLen) Use(reader.bytes());
//   }
//   if (!reader.ok()) ...;  // malformed
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace teletrace::loadgen {

class WireReader {
 public:
  enum WireType { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

  // `data` must outlive the reader. Offsets it reports are relative to `data` plus `base_offset`,
  // so a reader over a nested message can report offsets within the outermost buffer.
  explicit WireReader(std::string_view data, size_t base_offset = 0)
      : data_(data), base_offset_(base_offset) {}

  // Advances to the next field; false at the end of the data or on malformed input (groups,
  // truncated values), in which case ok() turns false.
  bool Next();
  bool ok() const { return ok_; }

  int field() const { return field_; }
  int wire_type() const { return wire_type_; }
  // The value of a varint, fixed64 or fixed32 field.
  uint64_t number() const { return number_; }
  // The payload of a length-delimited field.
  std::string_view bytes() const { return bytes_; }
  // Offset of the field's value (after tag and length) from the start of the outermost buffer.
  size_t value_offset() const { return value_offset_; }

 private:
  bool ReadVarint(uint64_t* value);

  std::string_view data_;
  size_t base_offset_;
  size_t pos_ = 0;
  bool ok_ = true;
  int field_ = 0;
  int wire_type_ = 0;
  uint64_t number_ = 0;
  std::string_view bytes_;
  size_t value_offset_ = 0;
};

}  // namespace teletrace::loadgen
