// Runs a program with openat2(2) refused (ENOSYS) by a seccomp filter: a machine whose
// kernel predates it (5.6), or whose container runtime's filter does not know it.
//   refuse_openat2 PROGRAM [ARGS...]
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: refuse_openat2 PROGRAM [ARGS...]\n");
    return 2;
  }
  // openat2 has one number on every architecture (437, the unified table of 5.1 on), so
  // the filter needs no architecture check to refuse it; everything else is allowed.
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    std::perror("refuse_openat2: seccomp");
    return 1;
  }
  ::execv(argv[1], argv + 1);
  std::perror("refuse_openat2: exec");
  return 1;
}
