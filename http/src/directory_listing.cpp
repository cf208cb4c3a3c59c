#include "directory_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

#include "hellepoll/http/path.hpp"
#include "hellepoll/scheduler.hpp"

namespace hellepoll::http {

namespace {

struct Entry {
  std::string name;
  bool is_dir;
};

struct DirCloser {
  DIR* d;
  ~DirCloser() { ::closedir(d); }
};

// Listings longer than a slice are built one at a time per thread. Each holds its names
// and its page until done, and built side by side (as the slices let them be) a flood of
// requests for a big directory held every page at once: 200 concurrent HEADs of a
// 30,000-name listing took the server from 5 MB to 700 MB (nginx builds them one by one,
// blocking its worker). The turn is taken at a listing's first pause between slices, so
// one done in a single slice (most directories) never waits behind a big one, and a
// waiter holds one slice of names.
class ListingTurn {
 public:
  ListingTurn() = default;
  ~ListingTurn() {
    if (held_) pass_on();
  }
  ListingTurn(const ListingTurn&) = delete;
  ListingTurn& operator=(const ListingTurn&) = delete;

  // Between two slices: lets the thread's other coroutines run, first waiting for the turn
  // if this listing does not hold it (behind those that asked before, suspended, not
  // polling). co_await gives false when the server is stopping: give up.
  class Pause {
   public:
    explicit Pause(ListingTurn& turn) noexcept : turn_(turn) {}
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;
    ~Pause() {
      // Destroyed while suspended (its coroutine was destroyed): leave the queue, or, handed
      // the turn but never resumed, hand it on.
      if (state_ == State::handed) {
        pass_on();
      } else if (state_ == State::waiting) {
        waiting.erase(std::find(waiting.begin(), waiting.end(), this));
      }
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      if (!turn_.held_ && taken) {
        waiting.push_back(this);
        state_ = State::waiting;
        return;
      }
      turn_.held_ = taken = true;
      Scheduler::current().schedule(h);
    }
    bool await_resume() noexcept {
      if (state_ == State::handed) turn_.held_ = true;
      state_ = State::running;
      return !Scheduler::current().stopping();
    }

   private:
    friend class ListingTurn;
    // waiting: in `waiting`; handed: taken out of it by pass_on(), the turn is this one's,
    // not resumed yet.
    enum class State : unsigned char { running, waiting, handed };
    ListingTurn& turn_;
    std::coroutine_handle<> handle_;
    State state_ = State::running;
  };
  Pause pause() noexcept { return Pause(*this); }

 private:
  // The next waiter's now, or nobody's.
  static void pass_on() {
    if (waiting.empty()) {
      taken = false;
      return;
    }
    Pause* next = waiting.front();
    waiting.pop_front();
    next->state_ = Pause::State::handed;
    Scheduler::current().schedule(next->handle_);
  }
  // The thread's turn: whether a listing holds it, and who waits for it, in order.
  static thread_local bool taken;
  static thread_local std::deque<Pause*> waiting;
  bool held_ = false;  // this listing holds it
};
thread_local bool ListingTurn::taken = false;
thread_local std::deque<ListingTurn::Pause*> ListingTurn::waiting;

}  // namespace

Task<ListingPage> listing_page(int dir_fd, std::string shown_path, std::size_t slice) {
  slice = std::max<std::size_t>(slice, 1);
  ListingTurn turn;
  // A fresh open of the directory, not a dup: readdir moves the position of the open file
  // it reads, and other requests may be listing through the same one (shared_open.hpp).
  const int own = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = own >= 0 ? ::fdopendir(own) : nullptr;
  if (!d) {
    const int error = -errno;
    if (own >= 0) ::close(own);
    co_return ListingPage{{}, error};
  }
  const auto by_name = [](const Entry& a, const Entry& b) { return a.name < b.name; };
  std::vector<Entry> entries;
  std::size_t run_start = 0;  // entries are sorted in runs of `slice` as they are read
  {
    DirCloser closer{d};  // also when the coroutine is destroyed at a pause
    for (;;) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0) co_return ListingPage{{}, -errno};  // an I/O error mid-directory: not half a listing
        break;
      }
      // Hidden names stay unlisted (nginx's autoindex does the same): ".git", ".env" and
      // the like are rarely meant to be advertised, even where they can be fetched.
      if (e->d_name[0] == '.') continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
        // A link to a directory is listed as one ("name/", as nginx does), or following
        // it would cost a redirect; so is any entry the file system did not type.
        struct stat st {};
        is_dir = ::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
      }
      entries.push_back({e->d_name, is_dir});
      if (entries.size() - run_start == slice) {
        std::sort(entries.begin() + run_start, entries.end(), by_name);
        run_start = entries.size();
        if (!co_await turn.pause()) co_return ListingPage{{}, -ECANCELED};  // readdir's position stays in `d`
      }
    }
  }
  std::sort(entries.begin() + run_start, entries.end(), by_name);
  // The sorted runs merged pairwise, one merge per turn: a single sort of 50,000 names
  // held the thread for ~25 ms, the last merge of two halves takes ~2.
  for (std::size_t width = slice; width < entries.size(); width *= 2) {
    for (std::size_t lo = 0; lo + width < entries.size(); lo += 2 * width) {
      const auto first = entries.begin() + static_cast<std::ptrdiff_t>(lo);
      const auto end = entries.begin() + static_cast<std::ptrdiff_t>(std::min(lo + 2 * width, entries.size()));
      std::inplace_merge(first, first + static_cast<std::ptrdiff_t>(width), end, by_name);
      if (!co_await turn.pause()) co_return ListingPage{{}, -ECANCELED};
    }
  }

  ListingPage page;
  std::string& html = page.html;
  const std::string title = html_escape(shown_path);
  html.reserve(256 + entries.size() * 96);
  html.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ")
      .append(title)
      .append("</title></head>\n<body><h1>Index of ")
      .append(title)
      .append("</h1>\n<ul>\n");
  if (shown_path != "/") html.append("<li><a href=\"../\">../</a></li>\n");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const std::string_view slash = e.is_dir ? "/" : "";
    // The href needs no HTML escaping: percent-encoding leaves only unreserved
    // characters and "%XX" in it.
    html.append("<li><a href=\"")
        .append(percent_encode_path_segment(e.name))
        .append(slash)
        .append("\">")
        .append(html_escape(e.name))
        .append(slash)
        .append("</a></li>\n");
    if ((i + 1) % slice == 0 && !co_await turn.pause()) co_return ListingPage{{}, -ECANCELED};
  }
  html.append("</ul></body></html>\n");
  co_return page;
}

}  // namespace hellepoll::http
