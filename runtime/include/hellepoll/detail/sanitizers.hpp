// HELLEPOLL_ASAN is 1 in an AddressSanitizer build (g++ or clang++). Memory recyclers
// compile themselves away then, so that every allocation stays visible to ASan.
// HELLEPOLL_TSAN is 1 in a ThreadSanitizer build: system calls then go through glibc,
// where TSan follows descriptors.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define HELLEPOLL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HELLEPOLL_ASAN 1
#endif
#endif
#ifndef HELLEPOLL_ASAN
#define HELLEPOLL_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define HELLEPOLL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HELLEPOLL_TSAN 1
#endif
#endif
#ifndef HELLEPOLL_TSAN
#define HELLEPOLL_TSAN 0
#endif
