// A power-loss simulator for tests: an LD_PRELOAD library that stands between a process (a
// corral-server) and the file system calls of one directory, and, at a chosen moment, leaves that
// directory as a power cut would have left it. kill -9 cannot show a missing fsync (the page cache
// survives it); this can.
//
// It keeps an undo journal of everything not yet made durable:
//   - every write's pre-image, and each file's size at its last sync, until fsync/fdatasync of that
//     file (data is durable once synced; the journal is kept per inode, so renames do not matter);
//   - every create, rename and unlink of a directory entry, until fsync of that directory (a new log
//     segment or snapshot survives a power cut only if its directory was synced).
// At the crash point it drops every unsynced byte (restores pre-images and sizes, newest first)
// except the newest write, which it tears at a random byte; undoes the unsynced directory changes;
// appends what it did to the report file, and kills the process with SIGKILL. The next run of the
// server (without the library) finds what a power cut would have left.
//
// Environment (nothing happens without CORRAL_POWER_LOSS_DIR):
//   CORRAL_POWER_LOSS_DIR      absolute path: files under it are watched
//   CORRAL_POWER_LOSS_AT       lose power just before the Nth watched change (write, sync, create,
//                              rename, unlink, truncate, allocate); 0 or unset: never by count
//   CORRAL_POWER_LOSS_TRIGGER  a path: changes count only once it exists (with AT unset: power is
//                              lost within 5 ms of its appearing, whatever the process is doing)
//   CORRAL_POWER_LOSS_FAULT    "crash" (default); "eio": from the Nth change on, fsync and fdatasync
//                              fail with EIO; "enospc": from the Nth change on, writes and allocations
//                              fail with ENOSPC
//   CORRAL_POWER_LOSS_SEED     for the torn write's length
//   CORRAL_POWER_LOSS_REPORT   a file the library appends one line to when it acts
// Tests only: it serialises every watched call behind one mutex and is not meant to be fast. Not
// modelled: a shrinking ftruncate, and O_TRUNC on an existing file (Corral uses neither on data it
// keeps: the log is cut by writing zeros, and new files are written under fresh temporary names).
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

using open_t = int (*)(const char*, int, ...);
using openat_t = int (*)(int, const char*, int, ...);
using pwrite_t = ssize_t (*)(int, const void*, size_t, off_t);
using write_t = ssize_t (*)(int, const void*, size_t);
using sync_t = int (*)(int);
using rename_t = int (*)(const char*, const char*);
using unlink_t = int (*)(const char*);
using unlinkat_t = int (*)(int, const char*, int);
using ftruncate_t = int (*)(int, off_t);
using fallocate_t = int (*)(int, off_t, off_t);
using close_t = int (*)(int);

struct inode_key {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator<(const inode_key& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

struct data_undo {
  inode_key file;
  off_t offset = 0;
  std::string old; // the bytes the write replaced (shorter than new_len past the old end)
  size_t new_len = 0;
  std::string name; // for the report
};
struct create_undo {
  std::string dir, path;
};
struct rename_undo {
  std::string dir, from, to, backup; // backup: the `to` that was replaced, kept under another name
};
struct unlink_undo {
  std::string dir, path, backup;
};
using undo = std::variant<data_undo, create_undo, rename_undo, unlink_undo>;

struct watched_file {
  int fd = -1; // our own descriptor, for undoing by inode whatever its name is now
  off_t synced_size = 0;
};

struct state {
  std::mutex mtx;
  bool on = false;
  std::string dir;
  long at = 0, count = 0;
  bool armed = false;
  std::string trigger, fault = "crash", report;
  unsigned seed = 1;
  std::map<int, std::string> fds; // watched descriptors -> path ("dir" ones too)
  std::map<int, bool> is_dir;
  std::map<inode_key, watched_file> files;
  std::vector<undo> journal;
  long backups = 0;
};

state& st() {
  static state* s = [] {
    auto* fresh = new state;
    if (const char* d = std::getenv("CORRAL_POWER_LOSS_DIR")) {
      fresh->on = true;
      fresh->dir = d;
      if (const char* v = std::getenv("CORRAL_POWER_LOSS_AT"))
        fresh->at = std::atol(v);
      if (const char* v = std::getenv("CORRAL_POWER_LOSS_TRIGGER"))
        fresh->trigger = v;
      if (const char* v = std::getenv("CORRAL_POWER_LOSS_FAULT"))
        fresh->fault = v;
      if (const char* v = std::getenv("CORRAL_POWER_LOSS_SEED"))
        fresh->seed = static_cast<unsigned>(std::atol(v));
      if (const char* v = std::getenv("CORRAL_POWER_LOSS_REPORT"))
        fresh->report = v;
    }
    return fresh;
  }();
  return *s;
}

bool under(const std::string& path) {
  auto& s = st();
  return s.on && path.compare(0, s.dir.size(), s.dir) == 0 &&
         (path.size() == s.dir.size() || path[s.dir.size()] == '/');
}

std::string parent(const std::string& path) {
  auto at = path.rfind('/');
  return at == std::string::npos ? "." : path.substr(0, at);
}

void say(const std::string& line) {
  auto& s = st();
  if (s.report.empty())
    return;
  int fd = real<open_t>("open")(s.report.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0)
    return;
  std::string l = line + "\n";
  [[maybe_unused]] auto n = real<write_t>("write")(fd, l.data(), l.size());
  real<close_t>("close")(fd);
}

inode_key key_of(int fd) {
  struct stat sb {};
  ::fstat(fd, &sb);
  return {sb.st_dev, sb.st_ino};
}

watched_file& file_of(int fd) {
  auto& s = st();
  auto k = key_of(fd);
  auto it = s.files.find(k);
  if (it == s.files.end()) {
    watched_file w;
    w.fd = ::dup(fd);
    struct stat sb {};
    ::fstat(fd, &sb);
    w.synced_size = sb.st_size;
    it = s.files.emplace(k, w).first;
  }
  return it->second;
}

// Leaves the directory as a power cut would, then dies. Called with the mutex held.
[[noreturn]] void lose_power(const std::string& at_what) {
  auto& s = st();
  size_t dropped = 0, undone = 0;
  std::string torn = "no unsynced write";
  bool tear = true;
  inode_key torn_file{};
  off_t torn_end = -1;
  for (auto it = s.journal.rbegin(); it != s.journal.rend(); ++it) {
    if (auto* d = std::get_if<data_undo>(&*it)) {
      auto f = s.files.find(d->file);
      if (f == s.files.end())
        continue;
      size_t keep = 0;
      if (tear) { // the newest write reached the disk only in part
        keep = d->new_len == 0 ? 0 : static_cast<size_t>(::rand_r(&s.seed)) % d->new_len;
        torn = "tore the last write (" + d->name + ", " + std::to_string(d->new_len) + " bytes at " +
               std::to_string(d->offset) + ") after " + std::to_string(keep) + " bytes";
        tear = false;
        torn_file = d->file;
        torn_end = d->offset + static_cast<off_t>(keep);
      }
      if (keep < d->old.size())
        real<pwrite_t>("pwrite")(f->second.fd, d->old.data() + keep, d->old.size() - keep,
                                 d->offset + static_cast<off_t>(keep));
      ++dropped;
    }
  }
  // Sizes go back to what was synced (a torn write past the old end keeps its surviving part).
  for (auto& [k, f] : s.files) {
    off_t size = f.synced_size;
    if (torn_end >= 0 && !(k < torn_file) && !(torn_file < k))
      size = std::max(size, torn_end);
    real<ftruncate_t>("ftruncate")(f.fd, size);
  }
  for (auto it = s.journal.rbegin(); it != s.journal.rend(); ++it) {
    if (auto* c = std::get_if<create_undo>(&*it)) {
      real<unlink_t>("unlink")(c->path.c_str());
      ++undone;
    } else if (auto* r = std::get_if<rename_undo>(&*it)) {
      real<rename_t>("rename")(r->to.c_str(), r->from.c_str());
      if (!r->backup.empty())
        real<rename_t>("rename")(r->backup.c_str(), r->to.c_str());
      ++undone;
    } else if (auto* u = std::get_if<unlink_undo>(&*it)) {
      real<rename_t>("rename")(u->backup.c_str(), u->path.c_str());
      ++undone;
    }
  }
  say("power lost at " + at_what + " (" + std::to_string(s.count) + " watched change(s) counted): dropped " +
      std::to_string(dropped) + " unsynced write(s), " + torn + ", undid " + std::to_string(undone) +
      " unsynced directory change(s)");
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);
}

// Counts a watched change; loses power, or says which fault applies. Mutex held.
enum class fault { none, eio, enospc };
fault change(const std::string& what) {
  auto& s = st();
  if (!s.trigger.empty() && !s.armed) {
    if (::access(s.trigger.c_str(), F_OK) != 0)
      return fault::none;
    s.armed = true;
  }
  ++s.count;
  bool due = s.at > 0 ? s.count >= s.at : !s.trigger.empty();
  if (!due)
    return fault::none;
  if (s.fault == "eio")
    return fault::eio;
  if (s.fault == "enospc")
    return fault::enospc;
  lose_power("the change \"" + what + "\"");
}

// A durable sync of a file or directory: its journal entries are no longer needed.
void synced(int fd) {
  auto& s = st();
  if (s.is_dir[fd]) {
    const auto& dir = s.fds[fd];
    std::vector<undo> keep;
    for (auto& u : s.journal) {
      bool gone = false;
      if (auto* c = std::get_if<create_undo>(&u))
        gone = c->dir == dir;
      else if (auto* r = std::get_if<rename_undo>(&u)) {
        gone = r->dir == dir;
        if (gone && !r->backup.empty())
          real<unlink_t>("unlink")(r->backup.c_str());
      } else if (auto* n = std::get_if<unlink_undo>(&u)) {
        gone = n->dir == dir;
        if (gone)
          real<unlink_t>("unlink")(n->backup.c_str());
      }
      if (!gone)
        keep.push_back(std::move(u));
    }
    s.journal = std::move(keep);
    return;
  }
  auto k = key_of(fd);
  std::vector<undo> keep;
  for (auto& u : s.journal) {
    auto* d = std::get_if<data_undo>(&u);
    if (!(d && !(d->file < k) && !(k < d->file)))
      keep.push_back(std::move(u));
  }
  s.journal = std::move(keep);
  // Nothing of this file is left to undo: the next change starts from its size now.
  if (auto it = s.files.find(k); it != s.files.end()) {
    real<close_t>("close")(it->second.fd);
    s.files.erase(it);
  }
}

// A pre-image of [offset, offset + len) of a watched file. Mutex held.
void before_write(int fd, off_t offset, size_t len) {
  auto& s = st();
  auto& f = file_of(fd);
  data_undo d;
  d.file = key_of(fd);
  d.offset = offset;
  d.new_len = len;
  d.name = s.fds[fd];
  d.old.resize(len);
  ssize_t n = ::pread(f.fd, d.old.data(), len, offset);
  d.old.resize(n > 0 ? static_cast<size_t>(n) : 0);
  s.journal.push_back(std::move(d));
}

std::string backup_name(const std::string& path) {
  return parent(path) + "/.power-loss-backup-" + std::to_string(++st().backups);
}

void opened(int fd, const std::string& path, int flags, bool existed) {
  auto& s = st();
  if (fd < 0 || !under(path))
    return;
  s.fds[fd] = path;
  struct stat sb {};
  ::fstat(fd, &sb);
  s.is_dir[fd] = S_ISDIR(sb.st_mode);
  if ((flags & O_CREAT) && !existed)
    s.journal.push_back(create_undo{parent(path), path});
}

int do_open(const char* path, int flags, mode_t mode) {
  auto& s = st();
  if (!s.on || path == nullptr || !under(path))
    return real<open_t>("open")(path, flags, mode);
  std::lock_guard<std::mutex> g(s.mtx);
  bool existed = ::access(path, F_OK) == 0;
  if ((flags & O_CREAT) && !existed && change(std::string("create ") + path) == fault::enospc) {
    errno = ENOSPC;
    return -1;
  }
  int fd = real<open_t>("open")(path, flags, mode);
  opened(fd, path, flags, existed);
  return fd;
}

// With a trigger and no count, the power goes as soon as the trigger appears, even in a server that
// is changing nothing at the moment: a thread of the library's own looks every 5 ms.
__attribute__((constructor)) void start_power_switch_watcher() {
  auto& s = st();
  if (!s.on || s.trigger.empty() || s.at > 0)
    return;
  std::thread([] {
    auto& shared = st();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (::access(shared.trigger.c_str(), F_OK) == 0) {
        std::lock_guard<std::mutex> g(shared.mtx);
        lose_power("the power switch");
      }
    }
  }).detach();
}

bool watched(int fd) {
  auto& s = st();
  return s.on && s.fds.count(fd) != 0;
}

} // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  return do_open(path, flags, mode);
}

// The same function under glibc's large-file name.
int open64(const char* path, int flags, ...) __attribute__((alias("open")));

ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) {
  auto& s = st();
  if (!s.on)
    return real<pwrite_t>("pwrite")(fd, buf, len, offset);
  std::lock_guard<std::mutex> g(s.mtx);
  if (!watched(fd))
    return real<pwrite_t>("pwrite")(fd, buf, len, offset);
  if (change("write " + s.fds[fd]) == fault::enospc) {
    errno = ENOSPC;
    return -1;
  }
  before_write(fd, offset, len);
  return real<pwrite_t>("pwrite")(fd, buf, len, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t len, off_t offset) { return pwrite(fd, buf, len, offset); }

ssize_t write(int fd, const void* buf, size_t len) {
  auto& s = st();
  if (!s.on)
    return real<write_t>("write")(fd, buf, len);
  std::lock_guard<std::mutex> g(s.mtx);
  if (!watched(fd))
    return real<write_t>("write")(fd, buf, len);
  if (change("write " + s.fds[fd]) == fault::enospc) {
    errno = ENOSPC;
    return -1;
  }
  before_write(fd, ::lseek(fd, 0, SEEK_CUR), len);
  return real<write_t>("write")(fd, buf, len);
}

static int do_sync(int fd, const char* name) {
  auto& s = st();
  if (!s.on)
    return real<sync_t>(name)(fd);
  std::lock_guard<std::mutex> g(s.mtx);
  if (!watched(fd))
    return real<sync_t>(name)(fd);
  if (change(std::string(name) + " " + s.fds[fd]) == fault::eio) {
    errno = EIO;
    return -1;
  }
  int rc = real<sync_t>(name)(fd);
  if (rc == 0)
    synced(fd);
  return rc;
}

int fsync(int fd) { return do_sync(fd, "fsync"); }
int fdatasync(int fd) { return do_sync(fd, "fdatasync"); }

int rename(const char* from, const char* to) {
  auto& s = st();
  if (!s.on || !(under(from) || under(to)))
    return real<rename_t>("rename")(from, to);
  std::lock_guard<std::mutex> g(s.mtx);
  change(std::string("rename ") + from + " to " + to);
  rename_undo r{parent(to), from, to, ""};
  if (::access(to, F_OK) == 0) {
    r.backup = backup_name(to);
    if (::link(to, r.backup.c_str()) != 0)
      r.backup.clear();
  }
  int rc = real<rename_t>("rename")(from, to);
  if (rc == 0)
    s.journal.push_back(r);
  else if (!r.backup.empty())
    real<unlink_t>("unlink")(r.backup.c_str());
  return rc;
}

static int do_unlink(const char* path, int (*really)(const char*)) {
  auto& s = st();
  if (!s.on || !under(path))
    return really(path);
  std::lock_guard<std::mutex> g(s.mtx);
  struct stat sb {};
  if (::stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))
    return really(path);
  change(std::string("unlink ") + path);
  unlink_undo u{parent(path), path, backup_name(path)};
  if (::link(path, u.backup.c_str()) != 0)
    return really(path);
  int rc = really(path);
  if (rc == 0)
    s.journal.push_back(u);
  else
    real<unlink_t>("unlink")(u.backup.c_str());
  return rc;
}

int unlink(const char* path) { return do_unlink(path, real<unlink_t>("unlink")); }
int remove(const char* path) { return do_unlink(path, real<unlink_t>("remove")); }

int unlinkat(int dirfd, const char* path, int flags) {
  if (path[0] == '/' && !(flags & AT_REMOVEDIR))
    return do_unlink(path, real<unlink_t>("unlink"));
  return real<unlinkat_t>("unlinkat")(dirfd, path, flags);
}

int ftruncate(int fd, off_t size) {
  auto& s = st();
  if (!s.on)
    return real<ftruncate_t>("ftruncate")(fd, size);
  std::lock_guard<std::mutex> g(s.mtx);
  if (watched(fd)) {
    change("truncate " + s.fds[fd]);
    file_of(fd);
  }
  return real<ftruncate_t>("ftruncate")(fd, size);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  auto& s = st();
  if (!s.on)
    return real<fallocate_t>("posix_fallocate")(fd, offset, len);
  std::lock_guard<std::mutex> g(s.mtx);
  if (watched(fd)) {
    if (change("allocate " + s.fds[fd]) == fault::enospc)
      return ENOSPC;
    file_of(fd);
  }
  return real<fallocate_t>("posix_fallocate")(fd, offset, len);
}

int posix_fallocate64(int fd, off_t offset, off_t len) { return posix_fallocate(fd, offset, len); }

int close(int fd) {
  auto& s = st();
  if (s.on) {
    std::lock_guard<std::mutex> g(s.mtx);
    s.fds.erase(fd);
    s.is_dir.erase(fd);
  }
  return real<close_t>("close")(fd);
}

} // extern "C"
