// The flags every server program shares (http/cli.hpp): values, defaults, and an error
// naming the flag for anything it cannot take.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "hellepoll/http/cli.hpp"

using namespace hellepoll;
using namespace hellepoll::http;
using namespace std::chrono_literals;

namespace cli_test {

// Parses `args` (without the program name) into a fresh ServerOptions.
CliResult parse(std::vector<std::string> args, ServerOptions& o) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_server_flags(static_cast<int>(argv.size()), argv.data(), o);
}

}  // namespace cli_test

using cli_test::parse;

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

BOOST_AUTO_TEST_CASE(the_help_text_names_every_flag) {
  const std::string help = server_flags_help();
  for (const char* flag : {"--host", "--port", "--threads", "--backend", "--access-log", "--batch-wait", "--help"})
    BOOST_TEST(help.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_SUITE_END()
