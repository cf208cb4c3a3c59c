#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"

namespace runtime_scheduler_tests {

using namespace hellepoll;
using hellepoll::test::open_fd_count;
using hellepoll::test::raise_fd_limit;
using namespace std::chrono_literals;

namespace {

Task<void> bump(int* counter) {
  co_await yield();
  ++*counter;
}

Task<void> bump_after(int* counter, Duration d) {
  co_await sleep_for(d);
  ++*counter;
}


}  // namespace

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_DATA_TEST_CASE(hundred_thousand_spawned_tasks_complete, test::backends, backend) {
  Scheduler s(backend);
  int counter = 0;
  for (int i = 0; i < 100'000; ++i) s.spawn(bump(&counter));
  BOOST_TEST(s.detached_count() == 100'000u);
  s.block_on([](int* c) -> Task<void> {
    while (*c < 100'000) co_await sleep_for(1ms);
  }(&counter));
  BOOST_TEST(counter == 100'000);
  BOOST_TEST(s.detached_count() == 0u);
}

// at_turn_end: once, after every coroutine ready in that turn has run (ten bumps that each
// yield once land in one turn), before the loop waits (a 50 ms sleep starts after it); a
// callback asked for from a callback runs at the next turn's end; one asked for outside
// any turn runs when the scheduler is destroyed.
BOOST_DATA_TEST_CASE(at_turn_end_runs_once_per_turn_before_the_loop_waits, test::backends, backend) {
  struct State {
    int bumps = 0;
    std::vector<int> seen;  // bumps at each call
    int again = 0;
  } st;
  const auto record = [](void* p) noexcept {
    auto& s = *static_cast<State*>(p);
    s.seen.push_back(s.bumps);
  };
  {
    Scheduler s(backend);
    s.block_on([](Scheduler& s, State& st, void (*record)(void*) noexcept) -> Task<void> {
      for (int i = 0; i < 10; ++i) s.spawn(bump(&st.bumps));
      s.at_turn_end(record, &st);
      s.at_turn_end(record, &st);
      const auto started = Clock::now();
      co_await yield();  // this turn's end came first: the bumps start in the next turn, with us
      BOOST_TEST(st.seen == (std::vector<int>{0, 0}));
      co_await sleep_for(50ms);
      BOOST_TEST(st.bumps == 10);
      BOOST_TEST((Clock::now() - started >= 50ms));
      s.at_turn_end(
          [](void* p) noexcept {
            auto& st = *static_cast<State*>(p);
            ++st.again;
            Scheduler::current().at_turn_end([](void* q) noexcept { ++static_cast<State*>(q)->again; }, p);
          },
          &st);
      co_await yield();
      BOOST_TEST(st.again == 1);
      co_await yield();
      BOOST_TEST(st.again == 2);
      s.at_turn_end(record, &st);  // the task ends in this turn, which still ends
    }(s, st, record));
    BOOST_TEST(st.seen.size() == 3u);
    s.at_turn_end(record, &st);  // no turn will come
  }
  BOOST_TEST(st.seen.size() == 4u);  // run by the destructor
}

// sync_wait (block_on) from a coroutine of the same scheduler is refused with a
// logic_error naming the fix: a nested loop resumed the coroutines of the turn in
// progress again, corrupting the heap (a handler calling sync_wait killed the server).
BOOST_DATA_TEST_CASE(sync_wait_inside_a_coroutine_of_its_scheduler_is_refused, test::backends, backend) {
  Scheduler s(backend);
  int other = 0;
  s.spawn(bump(&other));
  const std::string what = s.block_on([]() -> Task<std::string> {
    try {
      sync_wait([]() -> Task<int> { co_return 1; }());
    } catch (const std::logic_error& e) {
      co_return e.what();
    }
    co_return "no error";
  }());
  BOOST_TEST(what.find("co_await the task instead") != std::string::npos, what);
  s.block_on([](int* c) -> Task<void> {
    while (*c == 0) co_await yield();
  }(&other));
  BOOST_TEST(other == 1);  // the loop goes on, each coroutine resumed once
  BOOST_TEST(sync_wait([]() -> Task<int> { co_return 7; }()) == 7);  // outside any turn: fine
}

// A task suspended for good when its scheduler is destroyed is freed; a destructor in it
// that spawns (an asynchronous close, say) gets its task run, with operations failing at
// once, not freed while queued to run (a use after free, ASan).
BOOST_DATA_TEST_CASE(a_task_spawned_by_a_destructor_at_shutdown_runs, test::backends, backend) {
  struct State {
    int cleanups_started = 0;
    int cleanups_done = 0;
    int sleep_result = 1;
    int close_result = 1;
  } st;
  struct Guard {
    State* st;
    int fd;
    ~Guard() {
      spawn([](State* st, int fd) -> Task<void> {
        ++st->cleanups_started;
        st->sleep_result = co_await sleep_for(1h);  // the scheduler is stopping: at once
        st->close_result = co_await io::close(fd);  // but a close goes through: no fd leaks
        ++st->cleanups_done;
      }(st, fd));
    }
  };
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  {
    Scheduler s(backend);
    for (int i = 0; i < 3; ++i)
      s.spawn([](State* st, int fd) -> Task<void> {
        Guard g{st, fd};
        co_await std::suspend_always{};  // never resumed
      }(&st, i == 0 ? fds[0] : -1));
    s.block_on([]() -> Task<void> { co_await yield(); }());
  }
  BOOST_TEST(st.cleanups_started == 3);
  BOOST_TEST(st.cleanups_done == 3);
  BOOST_TEST(st.sleep_result == -ECANCELED);
  BOOST_TEST(::fcntl(fds[0], F_GETFD) == -1);  // closed by the cleanup
  ::close(fds[1]);
}

BOOST_DATA_TEST_CASE(an_exception_in_a_detached_task_is_logged_and_the_loop_goes_on, test::backends, backend) {
  Scheduler s(backend);
  s.spawn([]() -> Task<void> {
    co_await yield();
    throw std::runtime_error("detached failure (expected in this test)");
  }());
  int counter = 0;
  s.spawn(bump_after(&counter, 5ms));
  s.block_on([](int* c) -> Task<void> {
    while (*c == 0) co_await sleep_for(1ms);
  }(&counter));
  BOOST_TEST(counter == 1);
  BOOST_TEST(s.detached_count() == 0u);
}

BOOST_DATA_TEST_CASE(post_from_another_thread_wakes_a_blocked_scheduler, test::backends, backend) {
  Scheduler s(backend);
  std::atomic<int> ran{0};
  std::stop_source wake_the_sleeper;
  // The scheduler's only task sleeps for 10 s, so it blocks in the kernel; only the
  // posted functions can end the sleep early (request_stop runs on the scheduler thread).
  std::thread poster([&] {
    std::this_thread::sleep_for(50ms);
    for (int i = 0; i < 1000; ++i) s.post([&] { ran.fetch_add(1); });
    s.post([&] { wake_the_sleeper.request_stop(); });
  });
  auto start = Clock::now();
  int r = s.block_on([](std::stop_token t) -> Task<int> { co_return co_await sleep_for(10s, t); }(
      wake_the_sleeper.get_token()));
  poster.join();
  BOOST_TEST(r == -ECANCELED);
  BOOST_TEST(ran.load() == 1000);
  BOOST_TEST((Clock::now() - start < 5s));
}

BOOST_DATA_TEST_CASE(posting_from_many_threads_loses_nothing, test::backends, backend) {
  Scheduler s(backend);
  int ran = 0;  // only touched on the scheduler's thread
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) s.post([&] { ++ran; });
    });
  s.block_on([](int* r) -> Task<void> {
    while (*r < 40'000) co_await sleep_for(1ms);
  }(&ran));
  for (auto& t : threads) t.join();
  BOOST_TEST(ran == 40'000);
}

BOOST_DATA_TEST_CASE(stop_cancels_in_flight_operations_and_frames_unwind, test::backends, backend) {
  const int fds_before = open_fd_count();
  int unwound = 0;
  int results_cancelled = 0;
  {
    Scheduler s(backend);
    struct Guard {
      int* n;
      ~Guard() { ++*n; }
    };
    for (int i = 0; i < 50; ++i) {
      s.spawn([](int* unwound_count, int* cancelled) -> Task<void> {
        Guard g{unwound_count};
        int sv[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
        char buf[16];
        int r = co_await io::recv(sv[0], buf, sizeof buf);  // nobody ever writes
        if (r == -ECANCELED) ++*cancelled;
        Scheduler::current().backend().forget_fd(sv[0]);
        ::close(sv[0]);
        ::close(sv[1]);
      }(&unwound, &results_cancelled));
      s.spawn([](int* unwound_count) -> Task<void> {
        Guard g{unwound_count};
        co_await sleep_for(1h);
      }(&unwound));
    }
    // And tasks suspended on something that never happens: destroyed at shutdown.
    s.spawn([](int* unwound_count) -> Task<void> {
      Guard g{unwound_count};
      co_await std::suspend_always{};
    }(&unwound));
    s.block_on([]() -> Task<void> { co_await sleep_for(20ms); }());
    BOOST_TEST(s.detached_count() == 101u);
    s.stop();
    s.run();  // returns once everything has unwound
    BOOST_TEST(results_cancelled == 50);
    BOOST_TEST(unwound == 100);
  }
  BOOST_TEST(unwound == 101);  // the destructor freed the stuck frame too
  BOOST_TEST(open_fd_count() == fds_before);
}

BOOST_DATA_TEST_CASE(operations_after_stop_fail_at_once_with_ecanceled, test::backends, backend) {
  Scheduler s(backend);
  s.stop();
  int r = s.block_on([]() -> Task<int> { co_return co_await io::nop(); }());
  BOOST_TEST(r == -ECANCELED);
  int slept = s.block_on([]() -> Task<int> { co_return co_await sleep_for(1h); }());
  BOOST_TEST(slept == -ECANCELED);
}

BOOST_DATA_TEST_CASE(only_one_scheduler_per_thread, test::backends, backend) {
  Scheduler a(backend);
  BOOST_CHECK_THROW(Scheduler b(backend), std::logic_error);
  BOOST_TEST(&Scheduler::current() == &a);
}

BOOST_DATA_TEST_CASE(nop_round_trips_through_the_backend, test::backends, backend) {
  Scheduler s(backend);
  int total = s.block_on([]() -> Task<int> {
    int sum = 0;
    for (int i = 0; i < 10'000; ++i) sum += co_await io::nop() == 0;
    co_return sum;
  }());
  BOOST_TEST(total == 10'000);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_scheduler_tests
