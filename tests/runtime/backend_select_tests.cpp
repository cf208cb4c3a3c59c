#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include "hellepoll/backend.hpp"
#include "hellepoll/log.hpp"
#include "support/backends.hpp"
#include "support/env.hpp"
#include "support/uring_as_kernel.hpp"

namespace runtime_backend_select_tests {

using namespace hellepoll;
using hellepoll::test::EnvVar;

namespace {

// Makes io_uring_setup fail with EPERM in this process, as a container's seccomp
// profile does.
bool refuse_io_uring_with_seccomp() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

struct ChildResult {
  int exit_code;
  std::string stderr_text;
};

// Runs `body` in a forked child; its exit code and stderr come back.
template <typename F>
ChildResult in_child(F body) {
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipefd[1], STDERR_FILENO);
    ::close(pipefd[0]);
    ::_exit(body());
  }
  ::close(pipefd[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

// The same, with io_uring refused (as a container's seccomp profile does).
template <typename F>
ChildResult in_child_without_io_uring(F body) {
  return in_child([&body] { return refuse_io_uring_with_seccomp() ? body() : 90; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_selection)

BOOST_AUTO_TEST_CASE(names_parse_and_print) {
  BOOST_TEST(parse_backend_kind("auto") == BackendKind::auto_detect);
  BOOST_TEST(parse_backend_kind("uring") == BackendKind::uring);
  BOOST_TEST(parse_backend_kind("io_uring") == BackendKind::uring);
  BOOST_TEST(parse_backend_kind("epoll") == BackendKind::epoll);
  BOOST_CHECK_EXCEPTION(parse_backend_kind("kqueue"), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()).find("kqueue") != std::string::npos;
  });
  BOOST_TEST(to_string(BackendKind::uring) == "uring");
}

BOOST_AUTO_TEST_CASE(flag_beats_environment_beats_auto) {
  {
    EnvVar env("HELLEPOLL_BACKEND", nullptr);
    BOOST_TEST(backend_kind_from(std::nullopt) == BackendKind::auto_detect);
  }
  {
    EnvVar env("HELLEPOLL_BACKEND", "epoll");
    BOOST_TEST(backend_kind_from(std::nullopt) == BackendKind::epoll);
    BOOST_TEST(backend_kind_from("uring") == BackendKind::uring);
  }
  {
    EnvVar env("HELLEPOLL_BACKEND", "bogus");
    // Nothing on a command line shows the value: the error names the variable.
    BOOST_CHECK_EXCEPTION(backend_kind_from(std::nullopt), std::invalid_argument, [](const std::invalid_argument& e) {
      return std::string_view(e.what()).starts_with("HELLEPOLL_BACKEND: unknown backend 'bogus'");
    });
  }
}

BOOST_DATA_TEST_CASE(each_backend_can_be_forced, test::backends, backend) {
  auto b = make_backend(backend);
  BOOST_TEST(b->kind() == backend);
  BOOST_TEST(!b->describe().empty());
}

BOOST_AUTO_TEST_CASE(auto_prefers_io_uring_where_the_kernel_allows_it) {
  auto b = make_backend(BackendKind::auto_detect);
  BOOST_TEST(b->kind() == BackendKind::uring);
  BOOST_TEST(b->describe().find("io_uring") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(forcing_uring_where_it_is_refused_is_a_clear_error) {
  auto r = in_child_without_io_uring([] {
    try {
      make_backend(BackendKind::uring);
      return 1;  // must not succeed
    } catch (const std::system_error& e) {
      std::string what = e.what();
      std::fprintf(stderr, "%s\n", what.c_str());  // shown if a check below fails
      if (e.code().value() != EPERM) return 2;
      if (what.find("io_uring backend requested but unavailable") == std::string::npos) return 3;
      if (what.find("io_uring_setup") == std::string::npos) return 4;  // which step was refused
      // The errno text once: the rethrown std::system_error appends it to what() itself.
      const std::string eperm = std::generic_category().message(EPERM);
      if (what.find(eperm) == std::string::npos || what.find(eperm) != what.rfind(eperm)) return 5;
      return 0;
    }
  });
  BOOST_TEST(r.exit_code == 0, "child exit code " << r.exit_code << ", stderr: " << r.stderr_text);
}

BOOST_AUTO_TEST_CASE(auto_falls_back_to_epoll_with_one_log_line) {
  auto r = in_child_without_io_uring([] {
    auto b = make_backend(BackendKind::auto_detect);
    return b->kind() == BackendKind::epoll ? 0 : 1;
  });
  BOOST_TEST(r.exit_code == 0, "child exit code " << r.exit_code);
  BOOST_TEST(r.stderr_text.find("io_uring unavailable") != std::string::npos, r.stderr_text);
  BOOST_TEST(r.stderr_text.find("using epoll") != std::string::npos, r.stderr_text);
  BOOST_TEST(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1, r.stderr_text);
}

// Kernels before 5.19 cannot cancel every operation in flight with one request
// (IORING_ASYNC_CANCEL_ANY), and a stopping thread waited forever for what it could not
// cancel: io_uring is refused there (they refuse COOP_TASKRUN at set-up, also 5.19's),
// saying why, and auto uses epoll.
BOOST_AUTO_TEST_CASE(an_io_uring_before_5_19_is_refused) {
  auto r = in_child([] {
    detail::uring_as_kernel = {5, 18};  // this child only
    try {
      make_backend(BackendKind::uring);
      return 1;  // must not succeed
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      if (e.code().value() != EOPNOTSUPP) return 2;
      if (std::string(e.what()).find("io_uring before Linux 5.19") == std::string::npos) return 3;
    }
    return make_backend(BackendKind::auto_detect)->kind() == BackendKind::epoll ? 0 : 4;
  });
  BOOST_TEST(r.exit_code == 0, "child exit code " << r.exit_code << ", stderr: " << r.stderr_text);
  BOOST_TEST(r.stderr_text.find("io_uring unavailable: io_uring before Linux 5.19") != std::string::npos, r.stderr_text);
  BOOST_TEST(r.stderr_text.find("using epoll") != std::string::npos, r.stderr_text);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_backend_select_tests
