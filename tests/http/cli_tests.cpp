// The flags every server program shares (http/cli.hpp): values, defaults, and an error
// naming the flag for anything it cannot take.
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hellepoll/http/cli.hpp"
#include "support/env.hpp"

namespace http_cli_tests {

using namespace hellepoll;
using namespace hellepoll::http;
using namespace std::chrono_literals;

// Parses `args` (without the program name) into a fresh ServerOptions.
CliResult parse(std::vector<std::string> args, ServerOptions& o) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_server_flags(static_cast<int>(argv.size()), argv.data(), o);
}

// Each argument list must be refused with exactly its error.
void check_refused(const std::vector<std::pair<std::vector<std::string>, std::string>>& cases) {
  for (const auto& [args, error] : cases) {
    ServerOptions o;
    const auto r = parse(args, o);
    BOOST_TEST(!r.ok, error << ": accepted");
    BOOST_TEST(r.error == error);
  }
}

using hellepoll::test::EnvVar;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(batch_wait_takes_microseconds_and_defaults_to_200) {
  ServerOptions o;
  BOOST_TEST(parse({}, o).ok);
  BOOST_TEST(o.backend_options.batch_wait.count() == 200);
  BOOST_TEST(parse({"--batch-wait", "50"}, o).ok);
  BOOST_TEST(o.backend_options.batch_wait.count() == 50);
  BOOST_TEST(parse({"--batch-wait=0"}, o).ok);
  BOOST_TEST(o.backend_options.batch_wait.count() == 0);
  BOOST_TEST(parse({"--batch-wait", "1000000"}, o).ok);
  BOOST_TEST(o.backend_options.batch_wait.count() == 1'000'000);
}

BOOST_AUTO_TEST_CASE(a_bad_batch_wait_is_an_error_naming_the_flag) {
  for (const char* bad : {"1000001", "-1", "abc", "", "20us"}) {
    ServerOptions o;
    const auto r = parse({"--batch-wait", bad}, o);
    BOOST_TEST(!r.ok, "'" << bad << "' was accepted");
    BOOST_TEST(r.error.find("--batch-wait") != std::string::npos, r.error);
    BOOST_TEST(o.backend_options.batch_wait.count() == 200);  // untouched
  }
  ServerOptions o;
  const auto r = parse({"--batch-wait"}, o);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error == "--batch-wait needs a value");
}

BOOST_AUTO_TEST_CASE(zero_threads_is_an_error_not_one_thread) {
  check_refused({{{"--threads", "0"}, "bad value for --threads: '0' (expected 1 to 1024)"}});
  ServerOptions o;
  BOOST_TEST(parse({"--threads", "1"}, o).ok);
  BOOST_TEST(o.threads == 1u);
  BOOST_TEST(parse({"--threads=1024"}, o).ok);
  BOOST_TEST(o.threads == 1024u);
}

// The message says what would have been accepted, so one retry is enough.
BOOST_AUTO_TEST_CASE(a_bad_number_is_an_error_stating_the_accepted_range) {
  check_refused({
      {{"--port", "65536"}, "bad value for --port: '65536' (expected 0 to 65535)"},
      {{"--port=-1"}, "bad value for --port: '-1' (expected 0 to 65535)"},
      {{"--threads", "1025"}, "bad value for --threads: '1025' (expected 1 to 1024)"},
      {{"--threads", "two"}, "bad value for --threads: 'two' (expected 1 to 1024)"},
      {{"--batch-wait", "1000001"}, "bad value for --batch-wait: '1000001' (expected 0 to 1000000)"},
  });
}

// A single-dash argument is a mistyped flag far more often than a directory name.
BOOST_AUTO_TEST_CASE(an_unknown_single_dash_argument_is_an_unknown_flag) {
  check_refused({
      {{"-p", "19203"}, "unknown flag -p"},
      {{"serve", "--port", "1", "-p", "2"}, "unknown flag -p"},
      {{"serve", "-x"}, "unknown flag -x"},
      {{"serve", "-"}, "unknown flag -"},
  });
  ServerOptions o;
  BOOST_TEST(parse({"serve", "-h"}, o).help);  // the one short flag there is
}

BOOST_AUTO_TEST_CASE(double_dash_ends_the_flags) {
  ServerOptions o;
  const auto r = parse({"serve", "--port", "1", "--", "-x", "--help"}, o);
  BOOST_TEST(r.ok, r.error);
  BOOST_TEST(!r.help);
  BOOST_TEST((r.positional == std::vector<std::string>{"serve", "-x", "--help"}));
  BOOST_TEST(o.address.port() == 1u);
}

// Nothing on the command line says where a bad backend name came from: the error does.
BOOST_AUTO_TEST_CASE(a_bad_backend_from_the_environment_names_the_variable) {
  EnvVar env("HELLEPOLL_BACKEND", "bogus");
  ServerOptions o;
  const auto r = parse({}, o);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error == "HELLEPOLL_BACKEND: unknown backend 'bogus' (expected auto, uring or epoll)");
  BOOST_TEST(parse({"--backend", "epoll"}, o).ok);  // the flag wins, the variable is not read
  const auto flag = parse({"--backend", "kqueue"}, o);
  BOOST_TEST(flag.error == "unknown backend 'kqueue' (expected auto, uring or epoll)");
}

// A name is looked up once, at start: its first IPv4 address, as `listen localhost` would
// take among others; one that does not resolve is an error naming it.
BOOST_AUTO_TEST_CASE(host_takes_a_name_or_a_numeric_address) {
  ServerOptions o;
  BOOST_TEST(parse({"--host", "localhost", "--port", "8081"}, o).ok);
  BOOST_TEST(o.address.to_string() == "127.0.0.1:8081");
  BOOST_TEST(parse({"--host", "::1", "--port", "8082"}, o).ok);
  BOOST_TEST(o.address.to_string() == "[::1]:8082");
  BOOST_TEST(parse({"--host=[::1]"}, o).ok);
  BOOST_TEST(o.address.host() == "::1");
  const auto r = parse({"--host", "no-such-host.invalid"}, o);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.starts_with("--host: cannot resolve 'no-such-host.invalid': "), r.error);
}

BOOST_AUTO_TEST_CASE(user_names_who_to_serve_as) {
  ServerOptions o;
  BOOST_TEST(parse({}, o).ok);
  BOOST_TEST(o.user.empty());  // no switch unless asked
  BOOST_TEST(parse({"--user", "nobody"}, o).ok);
  BOOST_TEST(o.user == "nobody");
  check_refused({{{"--user="}, "--user needs a user name"}, {{"--user"}, "--user needs a value"}});
}

BOOST_AUTO_TEST_CASE(the_help_text_names_every_flag) {
  const std::string help = server_flags_help();
  for (const char* flag :
       {"--host", "--port", "--threads", "--backend", "--access-log", "--batch-wait", "--user", "--help"})
    BOOST_TEST(help.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_cli_tests
