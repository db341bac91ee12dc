#include "api/tempo/traceql_parser.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "api/jaeger/jaeger_query_params.h"
#include "fmt/format.h"
#include "re2/re2.h"

namespace teletrace::api::tempo {
namespace {

using Kind = TraceqlField::Kind;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }
// Where an unquoted attribute name ends (Tempo's lexer ends it at the same characters).
bool EndsAttribute(char c) {
  return IsSpace(c) || std::string_view("{}()=~!<>&|^,\"`").find(c) != std::string_view::npos;
}

struct IntrinsicName {
  std::string_view text;
  Kind kind;
};
constexpr IntrinsicName kIntrinsics[] = {
    {"name", Kind::kName},
    {"status", Kind::kStatus},
    {"statusMessage", Kind::kStatusMessage},
    {"kind", Kind::kKind},
    {"duration", Kind::kDuration},
    {"rootServiceName", Kind::kRootServiceName},
    {"rootName", Kind::kRootName},
    {"traceDuration", Kind::kTraceDuration},
    {"span:name", Kind::kName},
    {"span:status", Kind::kStatus},
    {"span:statusMessage", Kind::kStatusMessage},
    {"span:kind", Kind::kKind},
    {"span:duration", Kind::kDuration},
    {"trace:rootService", Kind::kRootServiceName},
    {"trace:rootName", Kind::kRootName},
    {"trace:duration", Kind::kTraceDuration},
};

struct Keyword {
  std::string_view text;
  TraceqlLiteral value;
};
const Keyword kKeywords[] = {
    {"true", true},
    {"false", false},
    {"error", model::StatusCode::kError},
    {"ok", model::StatusCode::kOk},
    {"unset", model::StatusCode::kUnset},
    {"unspecified", model::SpanKind::kUnspecified},
    {"internal", model::SpanKind::kInternal},
    {"server", model::SpanKind::kServer},
    {"client", model::SpanKind::kClient},
    {"producer", model::SpanKind::kProducer},
    {"consumer", model::SpanKind::kConsumer},
};

std::string_view KindWord(model::SpanKind kind) {
  for (const Keyword& k : kKeywords) {
    const auto* v = std::get_if<model::SpanKind>(&k.value);
    if (v != nullptr && *v == kind) return k.text;
  }
  return "unspecified";
}

std::string_view StatusWord(model::StatusCode code) {
  for (const Keyword& k : kKeywords) {
    const auto* v = std::get_if<model::StatusCode>(&k.value);
    if (v != nullptr && *v == code) return k.text;
  }
  return "unset";
}

// Appends the UTF-8 encoding of code point `cp`.
void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<SpansetExpr> Run() {
    absl::StatusOr<SpansetExpr> expr = SpansetOr(0);
    if (!expr.ok()) return expr;
    SkipSpace();
    if (pos_ < text_.size()) return Unexpected("end of query or && or || between spansets", true);
    return expr;
  }

 private:
  absl::Status ErrorAt(size_t pos, std::string_view message) const {
    return absl::InvalidArgumentError(
        fmt::format("invalid TraceQL query: col {}: {}", pos + 1, message));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  bool At(std::string_view s) {
    SkipSpace();
    return text_.substr(pos_).starts_with(s);
  }
  bool Consume(std::string_view s) {
    if (!At(s)) return false;
    pos_ += s.size();
    return true;
  }
  std::string_view Identifier(size_t from) const {
    size_t end = from;
    if (end < text_.size() && IsIdentStart(text_[end])) {
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
    }
    return text_.substr(from, end - from);
  }

  // The error for what stands at pos_ when `expected` was wanted, naming known unsupported
  // constructs. `spanset_level`: between spansets (where > < ~ are structural operators).
  absl::Status Unexpected(std::string_view expected, bool spanset_level) {
    SkipSpace();
    const std::string_view rest = text_.substr(pos_);
    if (rest.empty())
      return ErrorAt(pos_, fmt::format("expected {}, found end of query", expected));
    if (spanset_level) {
      static constexpr std::string_view kStructural[] = {"!>>", "!<<", "&>>", "&<<", ">>",
                                                         "<<",  "!~",  "&~",  "!>",  "!<",
                                                         "&>",  "&<",  ">",   "<",   "~"};
      for (std::string_view op : kStructural) {
        if (rest.starts_with(op)) {
          return ErrorAt(pos_, fmt::format("structural operator \"{}\" is not supported", op));
        }
      }
    }
    if (rest[0] == '|' && !rest.starts_with("||")) {
      return ErrorAt(pos_,
                     "pipelines (|) are not supported (nor the aggregates, select() and metrics "
                     "functions that follow them)");
    }
    if (std::string_view("+-*/%^").find(rest[0]) != std::string_view::npos) {
      return ErrorAt(pos_, fmt::format("arithmetic (\"{}\") is not supported", rest[0]));
    }
    if (rest[0] == '!' && !rest.starts_with("!=") && !rest.starts_with("!~")) {
      return ErrorAt(pos_, "negation (!) is not supported");
    }
    std::string_view ident = Identifier(pos_);
    if (!ident.empty()) {
      if (ident == "with") return ErrorAt(pos_, "query hints (with) are not supported");
      size_t after = pos_ + ident.size();
      while (after < text_.size() && IsSpace(text_[after])) ++after;
      if (after < text_.size() && text_[after] == '(') {
        return ErrorAt(pos_, fmt::format("function {}() is not supported", ident));
      }
      if (ident == "nil") return ErrorAt(pos_, "nil is not supported");
    }
    size_t n = 0;
    while (n < rest.size() && n < 12 && !IsSpace(rest[n])) ++n;
    return ErrorAt(pos_, fmt::format("expected {}, found \"{}\"", expected, rest.substr(0, n)));
  }

  absl::Status CheckDepth(int depth) {
    if (depth >= kMaxTraceqlDepth) {
      return ErrorAt(pos_, fmt::format("nesting deeper than {} levels", kMaxTraceqlDepth));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<SpansetExpr> SpansetOr(int depth) {
    absl::StatusOr<SpansetExpr> first = SpansetAnd(depth);
    if (!first.ok() || !At("||")) return first;
    SpansetExpr out;
    out.kind = SpansetExpr::Kind::kOr;
    out.children.push_back(*std::move(first));
    while (Consume("||")) {
      absl::StatusOr<SpansetExpr> next = SpansetAnd(depth);
      if (!next.ok()) return next;
      out.children.push_back(*std::move(next));
    }
    return out;
  }

  absl::StatusOr<SpansetExpr> SpansetAnd(int depth) {
    absl::StatusOr<SpansetExpr> first = SpansetPrimary(depth);
    if (!first.ok() || !At("&&")) return first;
    SpansetExpr out;
    out.kind = SpansetExpr::Kind::kAnd;
    out.children.push_back(*std::move(first));
    while (Consume("&&")) {
      absl::StatusOr<SpansetExpr> next = SpansetPrimary(depth);
      if (!next.ok()) return next;
      out.children.push_back(*std::move(next));
    }
    return out;
  }

  absl::StatusOr<SpansetExpr> SpansetPrimary(int depth) {
    if (absl::Status s = CheckDepth(depth); !s.ok()) return s;
    if (Consume("(")) {
      absl::StatusOr<SpansetExpr> inner = SpansetOr(depth + 1);
      if (!inner.ok()) return inner;
      if (!Consume(")")) return Unexpected("\")\"", true);
      return inner;
    }
    if (!Consume("{")) return Unexpected("\"{\" (a spanset filter)", true);
    SpansetExpr out;
    if (Consume("}")) return out;  // {} matches every span
    absl::StatusOr<TraceqlFieldExpr> filter = FieldOr(depth + 1);
    if (!filter.ok()) return filter.status();
    if (!Consume("}")) return Unexpected("&&, || or \"}\"", false);
    out.filter = *std::move(filter);
    return out;
  }

  absl::StatusOr<TraceqlFieldExpr> FieldOr(int depth) {
    absl::StatusOr<TraceqlFieldExpr> first = FieldAnd(depth);
    if (!first.ok() || !At("||")) return first;
    TraceqlFieldExpr out;
    out.kind = TraceqlFieldExpr::Kind::kOr;
    out.children.push_back(*std::move(first));
    while (Consume("||")) {
      absl::StatusOr<TraceqlFieldExpr> next = FieldAnd(depth);
      if (!next.ok()) return next;
      out.children.push_back(*std::move(next));
    }
    return out;
  }

  absl::StatusOr<TraceqlFieldExpr> FieldAnd(int depth) {
    absl::StatusOr<TraceqlFieldExpr> first = FieldPrimary(depth);
    if (!first.ok() || !At("&&")) return first;
    TraceqlFieldExpr out;
    out.kind = TraceqlFieldExpr::Kind::kAnd;
    out.children.push_back(*std::move(first));
    while (Consume("&&")) {
      absl::StatusOr<TraceqlFieldExpr> next = FieldPrimary(depth);
      if (!next.ok()) return next;
      out.children.push_back(*std::move(next));
    }
    return out;
  }

  absl::StatusOr<TraceqlFieldExpr> FieldPrimary(int depth) {
    if (absl::Status s = CheckDepth(depth); !s.ok()) return s;
    if (Consume("(")) {
      absl::StatusOr<TraceqlFieldExpr> inner = FieldOr(depth + 1);
      if (!inner.ok()) return inner;
      if (!Consume(")")) return Unexpected("&&, || or \")\"", false);
      return inner;
    }
    absl::StatusOr<TraceqlCondition> condition = Condition();
    if (!condition.ok()) return condition.status();
    TraceqlFieldExpr out;
    out.kind = TraceqlFieldExpr::Kind::kCondition;
    out.condition = *std::move(condition);
    return out;
  }

  absl::StatusOr<std::string> AttributeName() {
    if (pos_ < text_.size() && text_[pos_] == '"') return StringLiteral();
    size_t start = pos_;
    while (pos_ < text_.size() && !EndsAttribute(text_[pos_])) ++pos_;
    if (pos_ == start) return Unexpected("an attribute name", false);
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<TraceqlField> Field() {
    SkipSpace();
    const size_t start = pos_;
    TraceqlField field;
    auto attribute = [&](Kind kind, size_t prefix) -> absl::StatusOr<TraceqlField> {
      pos_ += prefix;
      absl::StatusOr<std::string> name = AttributeName();
      if (!name.ok()) return name.status();
      field.kind = kind;
      field.attribute = *std::move(name);
      field.text = std::string(text_.substr(start, pos_ - start));
      return field;
    };
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with(".")) return attribute(Kind::kAnyAttribute, 1);
    if (rest.starts_with("span.")) return attribute(Kind::kSpanAttribute, 5);
    if (rest.starts_with("resource.")) return attribute(Kind::kResourceAttribute, 9);
    for (std::string_view scope : {"event.", "link.", "instrumentation.", "parent."}) {
      if (rest.starts_with(scope)) {
        return ErrorAt(start, fmt::format("attribute scope \"{}\" is not supported (use span., "
                                          "resource. or an unscoped .name)",
                                          scope.substr(0, scope.size() - 1)));
      }
    }
    std::string_view ident = Identifier(pos_);
    if (ident.empty())
      return Unexpected("a field (an intrinsic such as name, or an attribute)", false);
    size_t end = pos_ + ident.size();
    if (end < text_.size() && text_[end] == ':') {  // scoped intrinsic: span:name, trace:duration
      end += 1 + Identifier(end + 1).size();
    }
    const std::string_view word = text_.substr(pos_, end - pos_);
    size_t after = end;
    while (after < text_.size() && IsSpace(text_[after])) ++after;
    if (after < text_.size() && text_[after] == '(') {
      return ErrorAt(start, fmt::format("function {}() is not supported", word));
    }
    for (const IntrinsicName& in : kIntrinsics) {
      if (in.text == word) {
        pos_ = end;
        field.kind = in.kind;
        field.text = std::string(word);
        return field;
      }
    }
    if (word == "nil") return ErrorAt(start, "nil is not supported");
    return ErrorAt(start, fmt::format("intrinsic \"{}\" is not supported (use name, status, "
                                      "statusMessage, kind, duration, rootServiceName, rootName or "
                                      "traceDuration)",
                                      word));
  }

  absl::StatusOr<TraceqlOp> Op() {
    static constexpr std::pair<std::string_view, TraceqlOp> kOps[] = {
        {"=~", TraceqlOp::kRegex}, {"!=", TraceqlOp::kNeq}, {"!~", TraceqlOp::kNotRegex},
        {">=", TraceqlOp::kGte},   {"<=", TraceqlOp::kLte}, {"=", TraceqlOp::kEq},
        {">", TraceqlOp::kGt},     {"<", TraceqlOp::kLt},
    };
    for (const auto& [text, op] : kOps) {
      if (Consume(text)) return op;
    }
    if (At("}") || At("&&") || At("||") || At(")")) {
      return Unexpected("a comparison operator (a field alone is not supported)", false);
    }
    return Unexpected("a comparison operator", false);
  }

  // pos_ at the opening quote (" or `).
  absl::StatusOr<std::string> StringLiteral() {
    const size_t start = pos_;
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == quote) return out;
      if (c != '\\' || quote == '`') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
        case '\'':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'u': {
          uint32_t cp = 0;
          bool hex = pos_ + 4 <= text_.size();
          for (size_t k = 0; hex && k < 4; ++k) {
            const char h = text_[pos_ + k];
            hex = absl::ascii_isxdigit(static_cast<unsigned char>(h));
            cp = cp * 16 + static_cast<uint32_t>(IsDigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
          }
          if (!hex) {
            return ErrorAt(pos_ - 2, "invalid \\u escape in string (expected 4 hex digits)");
          }
          pos_ += 4;
          AppendUtf8(&out, cp);
          break;
        }
        default:
          return ErrorAt(pos_ - 2, fmt::format("unknown escape \\{} in string", e));
      }
    }
    return ErrorAt(start, "unterminated string");
  }

  absl::StatusOr<TraceqlLiteral> Literal() {
    SkipSpace();
    const size_t start = pos_;
    if (pos_ >= text_.size()) return Unexpected("a value", false);
    const char c = text_[pos_];
    if (c == '"' || c == '`') {
      absl::StatusOr<std::string> s = StringLiteral();
      if (!s.ok()) return s.status();
      return TraceqlLiteral(*std::move(s));
    }
    const bool negative = c == '-';
    size_t i = pos_ + (negative ? 1 : 0);
    if (i < text_.size() && (IsDigit(text_[i]) || text_[i] == '.')) {
      bool is_float = false;
      while (i < text_.size() && IsDigit(text_[i])) ++i;
      if (i < text_.size() && text_[i] == '.') {
        is_float = true;
        ++i;
        while (i < text_.size() && IsDigit(text_[i])) ++i;
      }
      // A unit makes it a duration; Go's units are letters and µ (two bytes in UTF-8).
      size_t unit_end = i;
      while (unit_end < text_.size() &&
             (absl::ascii_isalpha(static_cast<unsigned char>(text_[unit_end])) ||
              text_.substr(unit_end).starts_with("\xC2\xB5") ||
              (unit_end > i && (IsDigit(text_[unit_end]) || text_[unit_end] == '.')))) {
        unit_end += text_.substr(unit_end).starts_with("\xC2\xB5") ? 2 : 1;
      }
      if (unit_end > i && !(text_[i] == 'e' || text_[i] == 'E')) {
        const std::string_view token = text_.substr(pos_, unit_end - pos_);
        if (negative) return ErrorAt(start, "negative durations are not supported");
        absl::StatusOr<uint64_t> nanos = jaeger::ParseGoDuration(token, "duration");
        if (!nanos.ok()) return ErrorAt(start, fmt::format("invalid duration \"{}\"", token));
        pos_ = unit_end;
        return TraceqlLiteral(TraceqlDuration{*nanos});
      }
      if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {  // exponent
        size_t j = i + 1;
        if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
        if (j < text_.size() && IsDigit(text_[j])) {
          is_float = true;
          while (j < text_.size() && IsDigit(text_[j])) ++j;
          i = j;
        }
      }
      const std::string_view token = text_.substr(pos_, i - pos_);
      pos_ = i;
      if (!is_float) {
        int64_t v = 0;
        if (!absl::SimpleAtoi(std::string(token), &v)) {
          return ErrorAt(start, fmt::format("integer {} out of range", token));
        }
        return TraceqlLiteral(v);
      }
      double d = 0;
      if (!absl::SimpleAtod(std::string(token), &d) || !std::isfinite(d)) {
        return ErrorAt(start, fmt::format("invalid number {}", token));
      }
      return TraceqlLiteral(d);
    }
    std::string_view ident = Identifier(pos_);
    for (const Keyword& k : kKeywords) {
      if (k.text == ident) {
        pos_ += ident.size();
        return k.value;
      }
    }
    return Unexpected("a value (a string, number, duration, true, false, status or kind)", false);
  }

  absl::StatusOr<TraceqlCondition> Condition() {
    SkipSpace();
    const size_t start = pos_;
    TraceqlCondition out;
    absl::StatusOr<TraceqlField> field = Field();
    if (!field.ok()) return field.status();
    out.field = *std::move(field);
    absl::StatusOr<TraceqlOp> op = Op();
    if (!op.ok()) return op.status();
    out.op = *op;
    SkipSpace();
    const size_t value_pos = pos_;
    absl::StatusOr<TraceqlLiteral> value = Literal();
    if (!value.ok()) return value.status();
    out.value = *std::move(value);
    if (absl::Status s = CheckTypes(out, start, value_pos); !s.ok()) return s;
    return out;
  }

  // Refuses comparisons that can never hold or that TraceQL does not define, so the evaluator
  // only meets sensible ones.
  absl::Status CheckTypes(TraceqlCondition& c, size_t start, size_t value_pos) {
    const TraceqlLiteral& v = c.value;
    const std::string value_text = TraceqlLiteralText(v);
    const bool ordering = c.op == TraceqlOp::kGt || c.op == TraceqlOp::kGte ||
                          c.op == TraceqlOp::kLt || c.op == TraceqlOp::kLte;
    const bool regex = c.op == TraceqlOp::kRegex || c.op == TraceqlOp::kNotRegex;
    auto mismatch = [&](std::string_view wanted) {
      return ErrorAt(value_pos,
                     fmt::format("{} compares with {}, not {}", c.field.text, wanted, value_text));
    };
    if (regex) {
      const auto* pattern = std::get_if<std::string>(&v);
      if (pattern == nullptr) {
        return ErrorAt(value_pos,
                       fmt::format("=~ and !~ take a string pattern, not {}", value_text));
      }
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<RE2>(*pattern, options);
      if (!re->ok()) {
        return ErrorAt(value_pos,
                       fmt::format("invalid regular expression {}: {}", value_text, re->error()));
      }
      c.regex = std::move(re);
    }
    switch (c.field.kind) {
      case Kind::kStatus:
        if (!std::holds_alternative<model::StatusCode>(v)) return mismatch("error, ok or unset");
        if (ordering || regex) return ErrorAt(start, "status takes only = and !=");
        return absl::OkStatus();
      case Kind::kKind:
        if (!std::holds_alternative<model::SpanKind>(v)) {
          return mismatch("server, client, producer, consumer, internal or unspecified");
        }
        if (ordering || regex) return ErrorAt(start, "kind takes only = and !=");
        return absl::OkStatus();
      case Kind::kDuration:
      case Kind::kTraceDuration:
        if (regex || !std::holds_alternative<TraceqlDuration>(v)) {
          return mismatch("a duration such as 100ms");
        }
        return absl::OkStatus();
      case Kind::kName:
      case Kind::kStatusMessage:
      case Kind::kRootServiceName:
      case Kind::kRootName:
        if (!std::holds_alternative<std::string>(v)) return mismatch("a string");
        return absl::OkStatus();
      case Kind::kSpanAttribute:
      case Kind::kResourceAttribute:
      case Kind::kAnyAttribute:
        if (std::holds_alternative<model::StatusCode>(v) ||
            std::holds_alternative<model::SpanKind>(v)) {
          return mismatch("a string, number, duration or boolean");
        }
        if (std::holds_alternative<bool>(v) && ordering) {
          return ErrorAt(start, "booleans take only = and !=");
        }
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<SpansetExpr> ParseTraceql(std::string_view text) { return Parser(text).Run(); }

std::string TraceqlLiteralText(const TraceqlLiteral& literal) {
  struct Visitor {
    std::string operator()(const std::string& s) const {
      std::string out = "\"";
      for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      return out + "\"";
    }
    std::string operator()(int64_t v) const { return fmt::format("{}", v); }
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(TraceqlDuration d) const { return fmt::format("{}ns", d.nanos); }
    std::string operator()(model::StatusCode c) const { return std::string(StatusWord(c)); }
    std::string operator()(model::SpanKind k) const { return std::string(KindWord(k)); }
  };
  return std::visit(Visitor{}, literal);
}

}  // namespace teletrace::api::tempo
