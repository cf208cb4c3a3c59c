#include "request_preconditions.hpp"

#include <optional>
#include <string_view>

#include "hellepoll/http/http_date.hpp"

namespace hellepoll::http::detail {
namespace {

std::string_view entity_tag_list(const Request& req, std::string_view name, std::string& joined) {
  auto v = req.header_list(name, joined);
  if (!v) return {};
  return v->empty() ? std::string_view(",") : *v;
}

std::string_view date_field(const Request& req, std::string_view name, std::string& joined) {
  auto v = req.header_list(name, joined);
  return v ? *v : std::string_view{};
}

// A field the handler added ("Name: value\r\n" lines), first of that name.
std::optional<std::string_view> response_field(const Response& r, std::string_view name) {
  std::string_view rest = r.extra_headers();
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(line.substr(0, colon), name)) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    return value;
  }
  return std::nullopt;
}

}  // namespace

RequestConditionals::RequestConditionals(const Request& req)
    : fields{entity_tag_list(req, "If-Match", joined_[0]), entity_tag_list(req, "If-None-Match", joined_[1]),
             date_field(req, "If-Modified-Since", joined_[2]), date_field(req, "If-Unmodified-Since", joined_[3])} {}

void apply_preconditions(const Request& req, Response& r) {
  if (r.status() != 200 || (req.method_kind() != Method::GET && req.method_kind() != Method::HEAD)) return;
  RequestConditionals cond(req);
  const std::string_view etag = response_field(r, "ETag").value_or(std::string_view{});
  std::optional<std::time_t> last_modified;
  if (auto lm = response_field(r, "Last-Modified")) last_modified = parse_http_date(*lm);
  if (!last_modified) cond.fields.if_modified_since = cond.fields.if_unmodified_since = {};
  switch (evaluate_preconditions(cond.fields, etag, last_modified.value_or(0))) {
    case Precondition::proceed: return;
    case Precondition::not_modified:
      // The handler's fields stay (ETag, Cache-Control, Vary... §15.4.5); no body, and so
      // no Content-Type (as nginx's not_modified filter does).
      r.status(304);
      r.body({});
      return;
    case Precondition::precondition_failed: r = Response::error(412, "precondition failed"); return;
  }
}

}  // namespace hellepoll::http::detail
