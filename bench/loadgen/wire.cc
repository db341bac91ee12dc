#include "loadgen/wire.h"

namespace teletrace::loadgen {

bool WireReader::ReadVarint(uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return false;
    uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

bool WireReader::Next() {
  if (!ok_ || pos_ >= data_.size()) return false;
  uint64_t tag = 0;
  if (!ReadVarint(&tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
    ok_ = false;
    return false;
  }
  field_ = static_cast<int>(tag >> 3);
  wire_type_ = static_cast<int>(tag & 7);
  bytes_ = {};
  number_ = 0;
  switch (wire_type_) {
    case kVarint:
      value_offset_ = base_offset_ + pos_;
      if (!ReadVarint(&number_)) ok_ = false;
      break;
    case kFixed64:
    case kFixed32: {
      size_t width = wire_type_ == kFixed64 ? 8 : 4;
      value_offset_ = base_offset_ + pos_;
      if (data_.size() - pos_ < width) {
        ok_ = false;
        break;
      }
      for (size_t i = 0; i < width; ++i) {
        number_ |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
      }
      pos_ += width;
      break;
    }
    case kLen: {
      uint64_t length = 0;
      if (!ReadVarint(&length) || length > data_.size() - pos_) {
        ok_ = false;
        break;
      }
      value_offset_ = base_offset_ + pos_;
      bytes_ = data_.substr(pos_, static_cast<size_t>(length));
      pos_ += static_cast<size_t>(length);
      break;
    }
    default:
      ok_ = false;
  }
  return ok_;
}

}  // namespace teletrace::loadgen
