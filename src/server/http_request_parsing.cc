#include "server/http_request_parsing.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "fmt/format.h"

namespace teletrace {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when `in` starts with a zlib (RFC 1950) header: deflate method and a valid check value.
bool HasZlibHeader(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]);
  const auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void SplitTarget(std::string_view target, std::string* path, std::string* query) {
  if (size_t scheme = target.find("://"); scheme != std::string_view::npos && target[0] != '/') {
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t q = target.find('?');
  *path = PercentDecode(target.substr(0, q));
  *query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
}

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = AsciiLower(TrimSpaces(item.substr(0, semi)));
    if (coding != "gzip" && coding != "x-gzip") continue;
    if (semi == std::string_view::npos) return true;
    std::string params = AsciiLower(item.substr(semi + 1));
    size_t qpos = params.find("q=");
    if (qpos == std::string::npos) return true;
    return std::strtod(params.c_str() + qpos + 2, nullptr) > 0;
  }
  return false;
}

std::optional<RequestRefusal> InflateBody(std::string_view in, BodyCoding coding, size_t limit,
                                          std::string* out) {
  const char* name = coding == BodyCoding::kGzip ? "gzip" : "deflate";
  const int window_bits = coding == BodyCoding::kGzip ? 16 + MAX_WBITS
                          : HasZlibHeader(in)         ? MAX_WBITS
                                                      : -MAX_WBITS;
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    out->clear();
    return RequestRefusal{500, "inflateInit2 failed"};
  }
  std::optional<RequestRefusal> outcome;
  size_t in_pos = 0;
  size_t produced = 0;
  const size_t cap = limit + 1;  // One byte over the limit proves the body too big.
  out->clear();
  out->resize(std::min(cap, std::max<size_t>(in.size() * 4, 16 << 10)));
  while (true) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      size_t n = std::min(kZlibChunkBytes, in.size() - in_pos);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (produced == out->size()) out->resize(std::min(cap, out->size() * 2));
    size_t room = std::min(kZlibChunkBytes, out->size() - produced);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    int ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > limit) {
      outcome = RequestRefusal{413,
                               fmt::format("request body exceeds {} bytes after decompression", limit)};
      break;
    }
    bool input_exhausted = zs.avail_in == 0 && in_pos == in.size();
    if (ret == Z_STREAM_END) {
      if (input_exhausted) break;
      if (coding == BodyCoding::kDeflate) {
        outcome = RequestRefusal{400, "invalid deflate body: data after the end of the stream"};
        break;
      }
      inflateReset(&zs);  // Another gzip member follows.
      continue;
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && !input_exhausted) continue;
    std::string reason = ret == Z_BUF_ERROR ? "unexpected end of stream"
                         : zs.msg != nullptr ? zs.msg
                                             : fmt::format("zlib error {}", ret);
    outcome = RequestRefusal{400, fmt::format("invalid {} body: {}", name, reason)};
    break;
  }
  inflateEnd(&zs);
  out->resize(outcome ? 0 : produced);
  return outcome;
}


std::optional<RequestRefusal> CheckTransferEncoding(std::string_view codings, unsigned version,
                                                    bool has_content_length) {
  std::string list;  // lowercase, each coding trimmed, joined with ", "
  while (true) {
    size_t comma = codings.find(',');
    std::string_view item = TrimSpaces(codings.substr(0, comma));
    if (!item.empty()) {
      if (!list.empty()) list += ", ";
      list += AsciiLower(item);
    }
    if (comma == std::string_view::npos) break;
    codings.remove_prefix(comma + 1);
  }
  if (version < 11) {
    return RequestRefusal{400, "Transfer-Encoding is not allowed in HTTP/1.0 requests"};
  }
  if (has_content_length) {
    return RequestRefusal{400, "request has both Transfer-Encoding and Content-Length"};
  }
  if (list == "chunked") return std::nullopt;
  // Chunked anywhere but last leaves the body's end unknowable: a malformed request (400). Any
  // other coding is one we do not implement (501).
  const bool ends_chunked = list.size() >= 9 && list.compare(list.size() - 9, 9, ", chunked") == 0;
  const bool has_chunked = (", " + list + ",").find(", chunked,") != std::string::npos;
  if (has_chunked && !ends_chunked) {
    return RequestRefusal{400,
                          fmt::format("Transfer-Encoding \"{}\" does not end with chunked", list)};
  }
  return RequestRefusal{501, fmt::format("unsupported Transfer-Encoding \"{}\" (only chunked)", list)};
}

}  // namespace teletrace
