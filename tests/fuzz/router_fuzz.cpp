// The router: a request reaches the route router.hpp's rules give it, and no other.
// Input: lines. Byte 0 % 8 is how many of the first lines add routes ("METHOD PATTERN", or
// a pattern alone for GET; those add() refuses are left out). With none, a fixed set of
// routes, built once (std::regex is slow to compile under ASan), stands in. The other lines
// are requests "METHOD PATH", routed as Connection::route does, by route_path's normal form;
// a path route_path refuses (answered 400 before routing) is routed as it came, so the
// router meets any bytes.
// Checks, against a small reference router written from router.hpp's rules (exact, then
// {name} segments in the order added, then the longest prefix, then the regex; HEAD served
// by GET; 501 for a method no route knows):
//  - the same route, or the same 404 / 405 / 501 and Allow list; a route found serves the
//    method;
//  - the {name} values are the path's segments where the pattern has {name}, percent-decoded
//    once, never empty, and nothing else (values from an earlier match are cleared); a
//    segment that does not decode matches no {name}.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "hellepoll/http/path.hpp"
#include "hellepoll/http/router.hpp"

using namespace hellepoll;
using namespace hellepoll::http;

namespace {
// Never called: matching is what is fuzzed. Not a coroutine, so this file needs no
// coroutine coverage instrumentation (see CMakeLists.txt).
Task<Response> ok(Request&) { return Task<Response>{}; }

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i <= p.size();) {
    const std::size_t j = std::min(p.find('/', i), p.size());
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// A route as the reference sees it.
struct Expected {
  enum Kind { exact, segments, prefix, regex } kind;
  const Route* route;
  std::string text;                   // exact: the path; prefix: the stem, '/' kept
  std::vector<std::string> segs;      // segments: the pattern's, {name} kept with braces

  bool matches(std::string_view path) const {
    switch (kind) {
      case exact: return path == text;
      case prefix: return path.starts_with(text) || path == std::string_view(text).substr(0, text.size() - 1);
      case segments: {
        const auto parts = split_path(path);
        if (parts.size() != segs.size()) return false;
        // A {name} takes a segment that is not empty and decodes.
        for (std::size_t i = 0; i < parts.size(); ++i)
          if (is_param(segs[i]) ? parts[i].empty() || !percent_decode(parts[i]) : parts[i] != segs[i]) return false;
        return true;
      }
      case regex:  // the fixed set's one: "/re/" and digits
        return path.size() > 4 && path.starts_with("/re/") &&
               std::all_of(path.begin() + 4, path.end(), [](char c) { return c >= '0' && c <= '9'; });
    }
    return false;
  }
  bool serves(std::string_view method) const {
    return route->method == "*" || route->method == method || (method == "HEAD" && route->method == "GET");
  }
};

struct Routes {
  Router router;
  std::vector<Expected> expected;

  // A route add() refuses is left out.
  void add(std::string_view method, std::string_view pattern) {
    try {
      expect(router.add(method, pattern, ok));
    } catch (const std::invalid_argument&) {
    }
  }
  // The pattern's normal form decides its kind, as requests are routed by theirs.
  void expect(const Route& r) {
    const auto normal = route_path(r.pattern);
    CHECK(normal.has_value());  // add() took it
    if (normal->ends_with("/*")) {
      expected.push_back({Expected::prefix, &r, normal->substr(0, normal->size() - 1), {}});
    } else if (normal->find('{') != std::string::npos) {
      const auto parts = split_path(*normal);
      expected.push_back({Expected::segments, &r, {}, {parts.begin(), parts.end()}});
    } else {
      expected.push_back({Expected::exact, &r, *normal, {}});
    }
  }
};

const Routes& fixed_routes() {
  static const Routes routes = [] {
    Routes r;
    r.expect(r.router.get("/", ok));
    r.expect(r.router.get("/users/{id}", ok));
    r.expect(r.router.get("/users/{id}/posts/{post}", ok));
    r.expect(r.router.post("/users", ok));
    r.expect(r.router.get("/static/*", ok));
    r.expect(r.router.add("*", "/any", ok));
    r.expected.push_back({Expected::regex, &r.router.add_regex("GET", "/re/[0-9]+", ok), {}, {}});
    return r;
  }();
  return routes;
}

// router.hpp's rules, spelled out.
Router::Match reference_match(const std::vector<Expected>& routes, std::string_view method, std::string_view path) {
  for (auto kind : {Expected::exact, Expected::segments, Expected::prefix, Expected::regex}) {
    const Expected* best = nullptr;
    for (const Expected& e : routes) {
      if (e.kind != kind || !e.matches(path) || !e.serves(method)) continue;
      if (kind != Expected::prefix) return {e.route, 200, {}};
      if (!best || e.text.size() > best->text.size()) best = &e;
    }
    if (best) return {best->route, 200, {}};
  }
  std::vector<std::string_view> allowed;
  bool known = std::ranges::any_of(routes, [&](const Expected& e) { return e.serves(method); });
  for (const Expected& e : routes)
    if (e.matches(path)) allowed.push_back(e.route->method);
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) known |= method == m;
  if (!known) return {nullptr, 501, {}};
  if (allowed.empty()) return {nullptr, 404, {}};
  if (std::ranges::find(allowed, "GET") != allowed.end()) allowed.push_back("HEAD");
  std::ranges::sort(allowed);
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string allow;
  for (std::string_view m : allowed) allow.append(allow.empty() ? "" : ", ").append(m);
  return {nullptr, 405, allow};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> lines;
  while (!in.empty() && lines.size() < 24) {
    const std::size_t nl = in.find('\n');
    lines.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }

  const std::size_t route_count = std::min<std::size_t>(data[0] % 8, lines.size());
  Routes own;
  for (std::size_t li = 0; li < route_count; ++li) {
    const std::size_t sp = lines[li].find(' ');
    if (sp == std::string_view::npos) {
      own.add("GET", lines[li]);
    } else {
      own.add(lines[li].substr(0, sp), lines[li].substr(sp + 1));
    }
  }
  const Routes& routes = route_count ? own : fixed_routes();

  for (std::size_t li = route_count; li < lines.size(); ++li) {
    const std::size_t sp = lines[li].find(' ');
    if (sp == std::string_view::npos) continue;
    const std::string_view method = lines[li].substr(0, sp), raw = lines[li].substr(sp + 1);
    const auto normal = route_path(raw);
    const std::string_view path = normal ? std::string_view(*normal) : raw;
    std::vector<std::pair<std::string, std::string>> params{{"stale", "x"}};
    const Router::Match m = routes.router.match(method, path, params);
    const Router::Match want = reference_match(routes.expected, method, path);
    const bool same = m.route == want.route && m.status == want.status && m.allow == want.allow;
    if (!same)
      std::fprintf(stderr, "%.*s %.*s: router %s %d [%s], reference %s %d [%s]\n", static_cast<int>(method.size()),
                   method.data(), static_cast<int>(path.size()), path.data(), m.route ? m.route->pattern.c_str() : "-",
                   m.status, m.allow.c_str(), want.route ? want.route->pattern.c_str() : "-", want.status,
                   want.allow.c_str());
    CHECK(same);
    if (!m.route) {
      CHECK(m.status == 404 || m.status == 405 || m.status == 501);
      CHECK(m.status != 405 || !m.allow.empty());
      continue;
    }
    const std::string& rm = m.route->method;
    CHECK(rm == "*" || rm == method || (method == "HEAD" && rm == "GET"));

    // Parameters: the {name} segments, each decoded once.
    const Expected& e = *std::ranges::find(routes.expected, m.route, &Expected::route);
    std::vector<std::pair<std::string, std::string>> want_params;
    if (e.kind == Expected::segments) {
      const auto parts = split_path(path);
      for (std::size_t i = 0; i < parts.size(); ++i)
        if (is_param(e.segs[i])) want_params.emplace_back(e.segs[i].substr(1, e.segs[i].size() - 2), *percent_decode(parts[i]));
    }
    CHECK(params == want_params);
    for (const auto& [name, value] : params) CHECK(!value.empty());
  }
  return 0;
}
