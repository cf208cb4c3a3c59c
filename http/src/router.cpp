#include "hellepoll/http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "hellepoll/http/parse_error.hpp"
#include "hellepoll/http/path.hpp"

namespace hellepoll::http {
namespace {
enum Kind { exact = 0, segments = 1, prefix = 2, regex = 3 };

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Short strings (paths, method names): lengths first, then bytes, inline.
bool same(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// The order of Router::exact_: by length, then bytes.
bool shorter_or_before(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  return false;
}

// lower_bound's order over Router::exact_ (whose element type is private to Router).
constexpr auto group_before = [](const auto& group, std::string_view path) noexcept {
  return shorter_or_before(group.path, path);
};
}  // namespace

struct Router::Entry {
  Route route;
  int kind = exact;
  std::string text;                   // exact path, or prefix
  std::vector<std::string> segments;  // "{name}" kept with braces
  std::string shape;                  // the normal form, "{}" for each parameter: duplicates
  std::regex re;
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

namespace {

// A method as requests spell it: a token, case-sensitive (RFC 9110 §9.1), or "*".
void check_method(std::string_view method) {
  if (method.empty()) throw std::invalid_argument("route method is empty");
  if (method == "*") return;
  for (unsigned char c : method)
    if (!detail::has(c, detail::kTchar)) throw std::invalid_argument("route method is not a token: " + std::string(method));
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
    if (detail::iequals(method, known) && method != known)
      throw std::invalid_argument("methods are case-sensitive: route method " + std::string(method) + " would never match; " +
                                  std::string(known) + "?");
}

// What a non-regex pattern may be: segments of text (a '*' inside one is a literal '*'),
// "{name}" segments (parameters, each a whole segment, each name once), or a "*" as the
// whole last segment (a prefix, with no parameters before it: that is not supported).
// Anything else (a query, "{x}.json", "/a/*/b", "{}", "/u/{id}/*") would not match as it
// reads, so it is refused. Returns the pattern's shape, parameters' names left out, to
// find a route added twice.
std::string check_pattern(std::string_view raw, std::string_view normal) {
  auto bad = [&](std::string_view why) {
    return std::invalid_argument("route pattern " + std::string(raw) + ": " + std::string(why));
  };
  if (raw.find_first_of("?#") != std::string_view::npos) throw bad("a query or fragment is not part of a path");
  const auto segs = split_path(normal.substr(1));
  std::vector<std::string_view> names;
  std::string shape;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string_view seg = segs[i];
    shape += '/';
    if (seg == "*") {
      if (i + 1 != segs.size()) throw bad("'*' as a segment may only be the last one");
      if (!names.empty()) throw bad("{parameters} before a trailing '*' are not supported");
      shape += '*';
      continue;
    }
    if (seg.find_first_of("{}") == std::string_view::npos) {
      shape += seg;
      continue;
    }
    if (seg.size() < 3 || seg.front() != '{' || seg.back() != '}') throw bad("a {parameter} must be a whole segment");
    const std::string_view name = seg.substr(1, seg.size() - 2);
    if (name.find_first_of("{}") != std::string_view::npos) throw bad("a {parameter} must be a whole segment");
    if (std::find(names.begin(), names.end(), name) != names.end()) throw bad("parameter {" + std::string(name) + "} twice");
    names.push_back(name);
    shape += "{}";
  }
  return shape;
}

// libstdc++ matches by backtracking, recursing once or more per byte of the path: a
// request path of 7 KB (under the default request-line limit) overflowed an 8 MB thread
// stack against "/((a|b)|(c|d))*", a crash any client could cause. Its polynomial mode
// walks the path in a loop instead (stack bounded by the pattern, time linear in the
// path) and refuses back-references, which need backtracking, when the route is added.
#if defined(__GLIBCXX__)
constexpr auto regex_flags = std::regex::ECMAScript | std::regex::optimize | std::regex_constants::__polynomial;
#else
constexpr auto regex_flags = std::regex::ECMAScript | std::regex::optimize;
#endif

}  // namespace

Route& Router::insert(std::string_view method, std::string_view pattern, int kind) {
  check_method(method);
  auto e = std::make_unique<Entry>();
  e->route.method = method;
  e->route.pattern = pattern;
  e->kind = kind;
  std::string normal;  // the pattern in the form requests are routed by (route_path)
  if (kind == regex) {
    e->re = std::regex(std::string(pattern), regex_flags);
  } else {
    if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("route pattern must start with '/'");
    auto n = route_path(pattern);
    if (!n) throw std::invalid_argument("route pattern " + std::string(pattern) +
                                        " has a malformed escape or a .. above the root");
    normal = std::move(*n);
    e->shape = check_pattern(pattern, normal);
    for (const auto& other : entries_)
      if (other->kind != regex && other->shape == e->shape && other->route.method == method)
        throw std::invalid_argument("route " + std::string(method) + " " + std::string(pattern) + " is added twice (as " +
                                    other->route.method + " " + other->route.pattern + ")");
    pattern = normal;
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
      e->kind = prefix;
      e->text = pattern.substr(0, pattern.size() - 1);  // keeps the trailing '/'
    } else if (pattern.find('{') != std::string_view::npos) {
      e->kind = segments;
      for (auto s : split_path(pattern)) e->segments.emplace_back(s);
    } else {
      e->kind = exact;
      e->text = pattern;
    }
  }
  if (e->kind == exact) {
    auto at = std::lower_bound(exact_.begin(), exact_.end(), e->text, group_before);
    if (at == exact_.end() || !same(at->path, e->text)) at = exact_.insert(at, ExactPath{e->text, {}});
    at->routes.push_back(e.get());
  }
  entries_.push_back(std::move(e));
  return entries_.back()->route;
}

std::uint64_t Router::largest_max_body() const noexcept {
  std::uint64_t n = 0;
  for (const auto& e : entries_) n = std::max(n, e->route.max_body);
  return n;
}

Route& Router::add(std::string_view method, std::string_view pattern, Handler h) {
  Route& r = insert(method, pattern, exact);
  r.handler = std::move(h);
  return r;
}

Route& Router::add_stream(std::string_view method, std::string_view pattern, StreamHandler h) {
  Route& r = insert(method, pattern, exact);
  r.stream_handler = std::move(h);
  return r;
}

Route& Router::add_regex(std::string_view method, std::string_view re, Handler h) {
  Route& r = insert(method, re, regex);
  r.handler = std::move(h);
  return r;
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            std::vector<std::pair<std::string, std::string>>& params) const {
  // An exact route always beats the other kinds, and among exact ones the first added.
  const auto group = std::lower_bound(exact_.begin(), exact_.end(), path, group_before);
  if (group != exact_.end() && same(group->path, path)) {
    for (const Entry* e : group->routes) {
      const std::string_view m = e->route.method;
      if (same(m, method) || same(m, "*") || (same(method, "HEAD") && same(m, "GET"))) {
        params.clear();
        return {&e->route, 200, {}};
      }
    }
  }
  return match_other_kinds(method, path, params);
}

// The rest of match(), out of line: its vectors and lambdas made the exact-path lookup
// every request takes pay for a large frame.
Router::Match Router::match_other_kinds(std::string_view method, std::string_view path,
                                        std::vector<std::pair<std::string, std::string>>& params) const {
  // Candidates for this path, best kind first; within prefixes, the longest.
  const Entry* best_for_method = nullptr;
  std::size_t best_prefix = 0;
  std::vector<std::string_view> allowed;
  bool method_known = false;
  std::vector<std::string_view> parts;
  bool split = false;

  auto path_matches = [&](const Entry& e, std::vector<std::pair<std::string, std::string>>* out) -> bool {
    switch (e.kind) {
      case exact: return path == e.text;
      case prefix: return path.substr(0, e.text.size()) == e.text || path == std::string_view(e.text).substr(0, e.text.size() - 1);
      case segments: {
        if (!split) {
          parts = split_path(path);
          split = true;
        }
        if (parts.size() != e.segments.size()) return false;
        for (std::size_t i = 0; i < parts.size(); ++i) {
          const std::string& s = e.segments[i];
          if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
            if (parts[i].empty()) return false;
            // A segment that does not decode ("%zz") is no value for it: no match, rather
            // than a match with its parameter missing. (The server's parser refuses such
            // paths first; a Router used on its own does not.)
            if (!out && parts[i].find('%') != std::string_view::npos && !percent_decode(parts[i])) return false;
            if (out) {
              auto decoded = percent_decode(parts[i]);
              if (!decoded) return false;
              out->emplace_back(s.substr(1, s.size() - 2), std::move(*decoded));
            }
          } else if (parts[i] != s) {
            return false;
          }
        }
        return true;
      }
      case regex: return std::regex_match(path.begin(), path.end(), e.re);
    }
    return false;
  };
  auto method_ok = [&](const Route& r) {
    return r.method == "*" || r.method == method || (method == "HEAD" && r.method == "GET");
  };

  for (int kind = exact; kind <= regex && !best_for_method; ++kind) {
    for (const auto& e : entries_) {
      if (e->kind != kind) continue;
      if (e->route.method == method || e->route.method == "*") method_known = true;
      if (!path_matches(*e, nullptr)) continue;
      if (method_ok(e->route)) {
        if (kind == prefix) {
          if (!best_for_method || e->text.size() > best_prefix) {
            best_for_method = e.get();
            best_prefix = e->text.size();
          }
          continue;
        }
        best_for_method = e.get();
        break;
      }
      allowed.push_back(e->route.method);
    }
  }
  if (best_for_method) {
    params.clear();
    path_matches(*best_for_method, &params);
    return {&best_for_method->route, 200, {}};
  }
  for (const auto& e : entries_)
    if (e->route.method == method || (method == "HEAD" && e->route.method == "GET")) method_known = true;
  static constexpr std::string_view standard[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"};
  if (!method_known && std::find(std::begin(standard), std::end(standard), method) == std::end(standard))
    return {nullptr, 501, {}};
  if (allowed.empty()) return {nullptr, 404, {}};
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) allowed.push_back("HEAD");
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string allow;
  for (auto m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return {nullptr, 405, std::move(allow)};
}

}  // namespace hellepoll::http
