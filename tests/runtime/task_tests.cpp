#include <boost/test/unit_test.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/task.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/env.hpp"

namespace runtime_task_tests {

using namespace hellepoll;
using namespace std::chrono_literals;

namespace {

Task<int> leaf(int v) { co_return v * 2; }
Task<int> middle(int v) { co_return 1 + co_await leaf(v); }
Task<int> top(int v) { co_return 1 + co_await middle(v); }

Task<int> throws_at_leaf() {
  throw std::runtime_error("leaf failed");
  co_return 0;
}
Task<int> passes_through() { co_return co_await throws_at_leaf() + 1; }

Task<std::unique_ptr<int>> move_only_value() { co_return std::make_unique<int>(42); }

Task<void> void_task(int* out) {
  co_await yield();
  *out = 7;
}

Task<long> sum_chain(int depth) {
  // Each level completes synchronously: without symmetric transfer this recursion would
  // grow the stack by a frame per level and overflow.
  if (depth == 0) co_return 0;
  co_return 1 + co_await sum_chain(depth - 1);
}

Task<long> loop_of_sync_awaits(int n) {
  long total = 0;
  for (int i = 0; i < n; ++i) total += co_await leaf(1);
  co_return total;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task)

BOOST_DATA_TEST_CASE(value_propagates_through_nested_awaits, test::backends, backend) {
  Scheduler s(backend);
  BOOST_TEST(s.block_on(top(20)) == 42);
}

BOOST_DATA_TEST_CASE(exception_propagates_through_nested_awaits, test::backends, backend) {
  Scheduler s(backend);
  BOOST_CHECK_EXCEPTION(s.block_on(passes_through()), std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()) == "leaf failed"; });
  // The scheduler is still usable afterwards.
  BOOST_TEST(s.block_on(leaf(4)) == 8);
}

// A plain function may hand back a default-constructed Task; awaiting it is an error the
// awaiter can catch, not a resumed null handle.
Task<int> awaits_empty_int() { co_return co_await Task<int>{}; }
Task<void> awaits_empty_void() { co_await Task<void>{}; }

BOOST_DATA_TEST_CASE(awaiting_an_empty_task_throws, test::backends, backend) {
  Scheduler s(backend);
  BOOST_CHECK_THROW(s.block_on(awaits_empty_int()), std::logic_error);
  BOOST_CHECK_THROW(s.block_on(awaits_empty_void()), std::logic_error);
  BOOST_TEST(s.block_on(leaf(4)) == 8);
}

BOOST_DATA_TEST_CASE(move_only_results_and_void_tasks, test::backends, backend) {
  Scheduler s(backend);
  auto p = s.block_on(move_only_value());
  BOOST_TEST(*p == 42);
  int out = 0;
  s.block_on(void_task(&out));
  BOOST_TEST(out == 7);
}

BOOST_DATA_TEST_CASE(deep_synchronous_chains_use_no_stack, test::backends, backend) {
  Scheduler s(backend);
  BOOST_TEST(s.block_on(loop_of_sync_awaits(1'000'000)) == 2'000'000);
  BOOST_TEST(s.block_on(sum_chain(100'000)) == 100'000);
}

BOOST_DATA_TEST_CASE(a_task_that_is_never_awaited_never_runs, test::backends, backend) {
  Scheduler s(backend);
  int out = 0;
  {
    auto t = void_task(&out);
    BOOST_TEST(t.valid());
    BOOST_TEST(!t.done());
  }
  BOOST_TEST(out == 0);
}

BOOST_DATA_TEST_CASE(sync_wait_uses_the_current_scheduler, test::backends, backend) {
  Scheduler s(backend);
  BOOST_TEST(sync_wait(top(1)) == 4);
}

// The scheduler it makes takes its backend from HELLEPOLL_BACKEND: set to each in turn.
BOOST_DATA_TEST_CASE(sync_wait_without_a_scheduler_makes_one, test::backends, backend) {
  test::EnvVar env("HELLEPOLL_BACKEND", std::string(to_string(backend)).c_str());
  BOOST_TEST(Scheduler::current_or_null() == nullptr);
  BOOST_TEST(sync_wait(top(2)) == 6);
  const BackendKind used = sync_wait([]() -> Task<BackendKind> { co_return Scheduler::current().backend().kind(); }());
  BOOST_TEST(used == backend);
  BOOST_TEST(Scheduler::current_or_null() == nullptr);
}

BOOST_DATA_TEST_CASE(when_all_returns_results_in_order, test::backends, backend) {
  Scheduler s(backend);
  auto delayed = [](int v, std::chrono::milliseconds d) -> Task<int> {
    co_await sleep_for(d);
    co_return v;
  };
  auto [a, b, c] = s.block_on(when_all(delayed(1, 30ms), delayed(2, 10ms), delayed(3, 0ms)));
  BOOST_TEST(a == 1);
  BOOST_TEST(b == 2);
  BOOST_TEST(c == 3);

  std::vector<Task<int>> many;
  for (int i = 0; i < 1000; ++i) many.push_back(leaf(i));
  auto all = s.block_on(when_all(std::move(many)));
  BOOST_REQUIRE(all.size() == 1000u);
  for (int i = 0; i < 1000; ++i) BOOST_TEST(all[static_cast<std::size_t>(i)] == 2 * i);
}

BOOST_DATA_TEST_CASE(when_all_waits_for_all_then_rethrows_the_first_error, test::backends, backend) {
  Scheduler s(backend);
  int finished = 0;
  auto slow = [](int* done) -> Task<void> {
    co_await sleep_for(20ms);
    ++*done;
  };
  auto bad = []() -> Task<void> {
    co_await sleep_for(1ms);
    throw std::logic_error("child failed");
  };
  BOOST_CHECK_THROW(s.block_on(when_all(slow(&finished), bad(), slow(&finished))), std::logic_error);
  BOOST_TEST(finished == 2);
  std::vector<Task<void>> none;
  s.block_on(when_all(std::move(none)));  // empty: completes at once
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_task_tests
